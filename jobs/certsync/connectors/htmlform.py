"""Read an HTML form the way a browser would submit it, with the standard library's parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_TEXT_INPUTS = {"", "text", "hidden", "email", "tel", "password", "number", "url", "search", "date"}
_BUTTONS = {"submit", "button", "image", "reset"}


@dataclass(slots=True)
class Form:
    """One form: its action and the (name, value) pairs a browser would send, in page order."""

    id: str
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    """Successful controls: inputs, checked boxes, selected options, textareas."""
    buttons: list[tuple[str, str]] = field(default_factory=list)
    """Submit buttons (name, value); only the one clicked is sent."""

    def get(self, name: str) -> str | None:
        """First value of a field, or None."""
        return next((v for n, v in self.fields if n == name), None)

    def has(self, name: str) -> bool:
        """Whether a control of that name exists (textareas count even when empty)."""
        return any(n == name for n, _ in self.fields)

    def replaced(self, name: str, value: str) -> list[tuple[str, str]]:
        """The fields with `name` set to `value`, every other field carried over unchanged."""
        return [(n, value if n == name else v) for n, v in self.fields]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.errors: list[str] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._option: tuple[str | None, bool] | None = None
        self._option_text: list[str] = []
        self._error_depth = 0
        self._error_text: list[str] = []
        self._error_items: list[str] = []
        self._li: list[str] | None = None
        self._capture: tuple[str, list[str], list[str]] | None = None
        self.feedback: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if self._error_depth:
            self._error_depth += 1 if tag == "div" else 0
            if tag in {"li", "br", "p"}:
                self._error_text.append("\n")
            if tag == "li":
                self._li = []
        elif tag == "div" and "alert-danger" in classes:
            self._error_depth = 1
            self._error_text = []
            self._error_items = []
        elif self._capture is None and (
            (tag == "span" and ("kc-feedback-text" in classes or a.get("id") == "input-error"))
            or (tag == "p" and "error" in classes)
        ):
            # Keycloak's feedback (template.ftl) and Tapestry pages' <p class="error">.
            target = self.feedback if tag == "span" else self.errors
            self._capture = (tag, [], target)
        if tag == "form":
            self._form = Form(a.get("id", ""), a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "").lower()
            if kind in _TEXT_INPUTS:
                self._form.fields.append((name, a.get("value", "")))
            elif kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind in _BUTTONS:
                self._form.buttons.append((name, a.get("value", "")))
        elif tag == "button" and name:
            self._form.buttons.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []
        elif tag == "select" and name:
            self._select = name
            self._options = []
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
            self._option_text = []

    def handle_data(self, data: str) -> None:
        if self._error_depth:
            self._error_text.append(data)
            if self._li is not None:
                self._li.append(data)
        if self._capture is not None:
            self._capture[1].append(data)
        if self._textarea is not None:
            self._text.append(data)
        elif self._option is not None:
            self._option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._capture is not None and tag == self._capture[0]:
            text = " ".join("".join(self._capture[1]).split())
            if text:
                self._capture[2].append(text)
            self._capture = None
        if self._li is not None and tag == "li":
            item = " ".join("".join(self._li).split())
            if item:
                self._error_items.append(item)
            self._li = None
        if self._error_depth and tag == "div":
            self._error_depth -= 1
            if not self._error_depth:
                if self._error_items:
                    # Tapestry's Errors component: a close button, a banner, then one <li> each.
                    self.errors.extend(self._error_items)
                else:
                    text = "".join(self._error_text)
                    self.errors.extend(line.strip() for line in text.splitlines() if line.strip())
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            value = "".join(self._text)
            # HTML drops one newline right after <textarea>; browsers send the rest verbatim.
            if value.startswith("\r\n"):
                value = value[2:]
            elif value.startswith("\n"):
                value = value[1:]
            self._form.fields.append((self._textarea, value))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            raw, selected = self._option
            text = "".join(self._option_text).strip()
            self._options.append((raw if raw is not None else text, selected))
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = [v for v, s in self._options if s] or [v for v, _ in self._options[:1]]
            self._form.fields.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "form":
            self._form = None


@dataclass(frozen=True, slots=True)
class Page:
    """What a page holds for us: its forms and its error messages (Bootstrap alert-danger)."""

    forms: tuple[Form, ...]
    errors: tuple[str, ...]
    feedback: tuple[str, ...] = ()
    """Keycloak's message on a login page (`kc-feedback-text`, or `input-error`)."""
    links: tuple[str, ...] = ()
    """Every link target (href), in page order."""

    def form(self, form_id: str) -> Form | None:
        """The form with this id, if present."""
        return next((f for f in self.forms if f.id == form_id), None)


def parse_page(html: str) -> Page:
    """Parse a page's forms and error messages."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return Page(
        tuple(parser.forms), tuple(parser.errors), tuple(parser.feedback), tuple(parser.links)
    )
