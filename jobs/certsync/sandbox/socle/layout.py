"""The socle's messages, page layout and HTTP session, as `megalis-bretagne/myec3-socle`
(Layout.tml, the pages' `.properties`) and `apache/tapestry-5` 5.8.2 (Errors component,
exception report, `@Persist` fields in the session) render them."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from certsync.sandbox.server import Request, Response

REGEX_MESSAGE = "Le certificat n'est pas au bon format"
NO_CERTIFICATE = "Un certificat est requis pour utiliser cette fonctionnalité."
SUCCESS_MESSAGE = "Modifications enregistrées avec succès"
DISABLED_SUFFIX = " (désactivé)"
"""ListAgents.disableAgentProfile appends it to the last name."""
USERNAME_TAKEN = (
    "Cette adresse de courriel est déjà utilisée comme identifiant par un autre compte. Merci "
    "de saisir un alias de votre adresse de courriel dans le champ 'Identifiant'. Exemple : "
    "Adresse courriel = monadresse@exemple.com, Identifiant = monadresse+alias@exemple.com."
)
FORMDATA_ERROR = (
    "Forms require that the request method be POST and that the t:formdata query parameter "
    "have values."
)
TAMPERED = "Client data associated with the current request appears to have been tampered with."


@dataclass(frozen=True, slots=True)
class Control:
    """One form control as Tapestry stores it in t:formdata: name, kind, validation."""

    name: str
    kind: str
    """text, select, checkbox, textarea, submit."""
    required: bool = False


@dataclass(slots=True)
class Session:
    """One HTTP session (JSESSIONID): the logged user and Tapestry's persisted page fields."""

    username: str
    flash: dict[str, str] = field(default_factory=dict)
    search_results: list[str] | None = None
    """SearchResult's @Persist organismsResult."""
    modify_pending: tuple[str, dict[str, str | None]] | None = None
    """Modify's flash fields after "Vérifier le certificat" (`activateOnce`, `agentProfile`):
    the profile id and the values posted, consumed by the next activation of Modify."""
    pages: dict[str, Any] = field(default_factory=dict)
    """@Persist fields of pages other modules add (by page name), e.g. the importer's."""


Handler = Callable[[Request, Session, tuple[str, ...]], Response]


def html_page(title: str, body: str, status: int = 200) -> Response:
    """A page of the socle's layout (`<div id="main-content">`)."""
    text = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>"
        f'<div id="main-content">{body}</div></body></html>'
    )
    return Response(status, text.encode(), "text/html;charset=utf-8")


def redirect(location: str, *cookies: str) -> Response:
    """A 302, with Set-Cookie headers if given."""
    headers = [("Location", location)] + [("Set-Cookie", c) for c in cookies]
    return Response(302, b"", headers=headers)


def error_page(message: str) -> Response:
    """Tapestry's exception report (HTTP 500)."""
    # Tapestry's exception report page (production mode still answers 500).
    body = (
        f"<h1>An unexpected application exception has occurred.</h1><p>{html.escape(message)}</p>"
    )
    return html_page("Application Exception", body, 500)


def alert(banner: str, errors: list[str]) -> str:
    """Tapestry's Errors component (alert-dismissable alert alert-danger, h4 banner, ul)."""
    if not errors:
        return ""
    items = "".join(f"<li>{html.escape(e)}</li>" for e in dict.fromkeys(errors))
    return (
        '<div class="alert-dismissable alert alert-danger" role="alert">'
        '<button type="button" class="close" data-dismiss="alert">&times;</button>'
        f"<h4>{html.escape(banner)}</h4><ul>{items}</ul></div>"
    )
