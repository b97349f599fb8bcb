"""The « Constats » sheet: one row per finding, with the administrator's decision column."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from certsync.report.rows import COLUMNS, DECISION_HEADER, IGNORE_CHOICE, Row
from certsync.report.sheetml import (
    DECIDE,
    HEAD,
    LINK,
    SEVERITY_STYLE,
    SHEET_HEAD,
    WRAP,
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

#: The findings sheet's columns: the report's, then the administrator's decision.
_HEADERS = (*COLUMNS, DECISION_HEADER)
_LETTERS = [column_letter(i) for i in range(len(_HEADERS))]
_DECISION = _LETTERS[len(COLUMNS)]
#: Excel refuses a literal list longer than this in a data validation.
_LIST_MAX = 255
_PROMPT = (
    "Choisissez l'agent qui reçoit ce certificat, ou « ignorer ». Toute adresse de la liste "
    "des agents est acceptée. Puis : certsync decisions import exceptions.xlsx"
)


def findings_sheet(rows: Sequence[Row], targets: Targets) -> Sheet:
    last = max(len(rows), 1) + 1
    parts = _findings_parts(rows, targets)
    return Sheet("Constats", parts, filter_ref=f"$A$1:${_LETTERS[-1]}${last}")


def _findings_parts(rows: Sequence[Row], targets: Targets) -> Iterator[str]:
    yield SHEET_HEAD
    yield dimension(_LETTERS[-1], len(rows) + 1)
    yield frozen_header()
    decision_width = [float(len(DECISION_HEADER) + 16)]
    yield cols(content_widths(COLUMNS, (r.cells() for r in rows), {7, 8}) + decision_width)
    yield "<sheetData>"
    head = "".join(cell(f"{_LETTERS[c]}1", t, HEAD) for c, t in enumerate(_HEADERS))
    yield f'<row r="1">{head}</row>'
    lists: dict[str, list[int]] = {}
    links: list[tuple[str, str, str]] = []
    for r, row in enumerate(rows, start=2):
        severity = SEVERITY_STYLE.get(row.severity, 0)
        see = targets.file.get(row.see_file) if row.see_file else None
        parts = []
        for c, value in enumerate(row.cells()):
            style = severity if c == 5 else (WRAP if c in (7, 8) else 0)
            if c == 8 and see is not None:
                style = LINK
            parts.append(cell(f"{_LETTERS[c]}{r}", value, style))
        if see is not None:
            links.append((f"I{r}", "Constats", f"A{see}"))
        if row.choices is not None:
            parts.append(cell(f"{_DECISION}{r}", "", DECIDE))
            lists.setdefault(_decision_list(row.choices), []).append(r)
        yield f'<row r="{r}">{"".join(parts)}</row>'
    yield "</sheetData>"
    yield f'<autoFilter ref="A1:{_LETTERS[-1]}{max(len(rows), 1) + 1}"/>'
    yield _decision_validations(lists)
    yield hyperlinks(links)
    yield "</worksheet>"


def _decision_list(choices: Sequence[str]) -> str:
    """The drop-down's literal list: the candidates that fit Excel's limit, then « ignorer »."""
    options = [c for c in choices if c and "," not in c and '"' not in c]
    while options and len(",".join([*options, IGNORE_CHOICE])) > _LIST_MAX:
        options.pop()
    return ",".join([*options, IGNORE_CHOICE])


def _ranges(rows: Sequence[int]) -> str:
    """Ascending sheet rows of the decision column as a compact sqref: `K5:K9 K12`."""
    spans: list[list[int]] = []
    for r in rows:
        if spans and r == spans[-1][1] + 1:
            spans[-1][1] = r
        else:
            spans.append([r, r])
    return " ".join(
        f"{_DECISION}{a}" if a == b else f"{_DECISION}{a}:{_DECISION}{b}" for a, b in spans
    )


def _decision_validations(lists: dict[str, list[int]]) -> str:
    """One list validation per set of candidates; the error alert is off, so that any roster
    e-mail may be typed in, not only the candidates offered."""
    if not lists:
        return ""
    items = "".join(
        f'<dataValidation type="list" allowBlank="1" showErrorMessage="0" showInputMessage="1" '
        f'promptTitle="{DECISION_HEADER}" prompt="{text(_PROMPT)}" sqref="{_ranges(refs)}">'
        f'<formula1>"{text(options)}"</formula1></dataValidation>'
        for options, refs in lists.items()
    )
    return f'<dataValidations count="{len(lists)}">{items}</dataValidations>'
