"""The « Agents » and « Plan » sheets: one row per roster agent, one row per planned action."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from xml.sax.saxutils import escape

from certsync.plan import PLAN_COLUMNS
from certsync.report.rows import AGENT_COLUMNS, AgentLine
from certsync.report.sheetml import (
    DATE,
    HEAD,
    INVALID_XML,
    LINK,
    PLAIN_MAX,
    SHEET_HEAD,
    Sheet,
    Targets,
    cell,
    cols,
    column_letter,
    content_widths,
    dimension,
    frozen_header,
    hyperlinks,
    text,
)

#: Excel's day 0 for date serial numbers (1900 date system, with its 1900 leap-year bug).
_EXCEL_EPOCH = date(1899, 12, 30)
_SEE = "voir son constat"


def _escape_all(values: Sequence[str]) -> list[str]:
    """text() of many values at once: three C calls over the joined text instead of three
    per value (100,000 agents); per value when a value holds the separator itself."""
    joined = _SEPARATOR.join(values)
    parts = escape(INVALID_XML.sub("\ufffd", joined)).split(_SEPARATOR)
    return parts if len(parts) == len(values) else [text(v) for v in values]


#: A private-use character, which no roster or certificate text is expected to hold.
_SEPARATOR = "\ue000"

#: The « Agents » text columns written from each AgentLine, with their letters.
_AGENT_TEXTS = (
    ("B", "name"),
    ("C", "email"),
    ("D", "organisation"),
    ("E", "status"),
    ("F", "file"),
    ("G", "method"),
    ("I", "codes"),
)


def agents_sheet(agents: Sequence[AgentLine], targets: Targets) -> Sheet:
    last = max(len(agents), 1) + 1
    letter = column_letter(len(AGENT_COLUMNS) - 1)
    return Sheet("Agents", _agents_parts(agents, targets), filter_ref=f"$A$1:${letter}${last}")


def _agents_parts(agents: Sequence[AgentLine], targets: Targets) -> Iterator[str]:
    letters = [column_letter(i) for i in range(len(AGENT_COLUMNS))]
    raw = {field: [getattr(a, field) for a in agents] for _letter, field in _AGENT_TEXTS}
    yield SHEET_HEAD
    yield dimension(letters[-1], len(agents) + 1)
    yield frozen_header()
    widths = content_widths(AGENT_COLUMNS, [])
    widths[0] = float(max(len(AGENT_COLUMNS[0]) + 4, len(str(last_row(agents))) + 2))
    for column, (_letter, field) in zip((1, 2, 3, 4, 5, 6, 8), _AGENT_TEXTS, strict=True):
        longest = max(map(len, raw[field]), default=0)
        widths[column] = float(min(max(longest + 2, widths[column]), PLAIN_MAX))
    widths[7], widths[9] = 15.0, float(len(_SEE) + 2)
    yield cols(widths)
    yield "<sheetData>"
    head = "".join(cell(f"{letters[c]}1", t, HEAD) for c, t in enumerate(AGENT_COLUMNS))
    yield f'<row r="1">{head}</row>'
    texts = {field: _escape_all(values) for field, values in raw.items()}
    links: list[tuple[str, str, str]] = []
    for i, a in enumerate(agents):
        # Written inline rather than through cell(): 100,000 rows of ten cells.
        r = i + 2
        parts = [f'<row r="{r}"><c r="A{r}"><v>{a.row}</v></c>']
        for letter, field in _AGENT_TEXTS:
            if letter == "I" and a.not_after is not None:  # cells go in column order
                serial = (a.not_after - _EXCEL_EPOCH).days
                parts.append(f'<c r="H{r}" s="{DATE}"><v>{serial}</v></c>')
            text = texts[field][i]
            if not text:
                continue
            style = ""
            if letter == "F" and (target := targets.file.get(a.file)) is not None:
                links.append((f"F{r}", "Constats", f"A{target}"))
                style = f' s="{LINK}"'
            parts.append(
                f'<c r="{letter}{r}"{style} t="inlineStr"><is><t xml:space="preserve">{text}'
                "</t></is></c>"
            )
        own = targets.agent.get(a.row)
        if own is not None:
            links.append((f"J{r}", "Constats", f"A{own}"))
            parts.append(cell(f"J{r}", _SEE, LINK))
        parts.append("</row>")
        yield "".join(parts)
    yield "</sheetData>"
    yield f'<autoFilter ref="A1:{letters[-1]}{max(len(agents), 1) + 1}"/>'
    yield hyperlinks(links)
    yield "</worksheet>"


# -- Plan --------------------------------------------------------------------------------------

_PLAN_WRAPPED = frozenset({3, 4})


def plan_sheet(plan: Sequence[Sequence[int | str]]) -> Sheet:
    """What the run does (or would do) to each account: one row per agent."""
    last = max(len(plan), 1) + 1
    letter = column_letter(len(PLAN_COLUMNS) - 1)
    return Sheet("Plan", _plan_parts(plan), filter_ref=f"$A$1:${letter}${last}")


def _plan_parts(plan: Sequence[Sequence[int | str]]) -> Iterator[str]:
    letters = [column_letter(i) for i in range(len(PLAN_COLUMNS))]
    yield SHEET_HEAD
    yield dimension(letters[-1], len(plan) + 1)
    yield frozen_header()
    # Sized on the first rows: the plan repeats a few actions and reasons thousands of times.
    yield cols(content_widths(PLAN_COLUMNS, plan[:2000], _PLAN_WRAPPED))
    yield "<sheetData>"
    head = "".join(cell(f"{letters[c]}1", t, HEAD) for c, t in enumerate(PLAN_COLUMNS))
    yield f'<row r="1">{head}</row>'
    for r, cells in enumerate(plan, start=2):
        parts = "".join(cell(f"{letters[c]}{r}", v) for c, v in enumerate(cells))
        yield f'<row r="{r}">{parts}</row>'
    yield "</sheetData>"
    yield f'<autoFilter ref="A1:{letters[-1]}{max(len(plan), 1) + 1}"/>'
    yield "</worksheet>"


def last_row(agents: Sequence[AgentLine]) -> int:
    """The largest roster row number (for the « Ligne » column's width)."""
    return max((a.row for a in agents), default=0)
