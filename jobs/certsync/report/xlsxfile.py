"""exceptions.xlsx: summary, findings, agents, plan; no cell can ever be a formula.

Each sheet is built by its own function (`_summary_sheet`, `_findings_sheet`, `_agents_sheet`,
`_plan_sheet`)
returning a `Sheet`; `write_xlsx` assembles the package from the list, so that a sheet is added
by adding one function and one entry.

Written as SpreadsheetML directly rather than through a library: a run with 100,000 agents has
tens of thousands of findings, and a general-purpose writer spends about 5 µs per cell where
string formatting spends under 1. Every text cell is an inline string, which a spreadsheet
never evaluates (a roster name "=HYPERLINK(…)" stays text).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from certsync.fsutil import atomic_path
from certsync.plan import PLAN_COLUMNS
from certsync.report.rows import (
    AGENT_COLUMNS,
    COLUMNS,
    DECISION_HEADER,
    IGNORE_CHOICE,
    AgentLine,
    Row,
)

# Style indexes into styles.xml's cellXfs, below.
_BOLD, _HEAD, _WRAP, _DECIDE, _LINK, _DATE = 1, 2, 3, 7, 8, 9
_SEVERITY_STYLE = {"bloquant": 4, "avertissement": 5, "information": 6}
# Characters XML 1.0 cannot carry at all (a cell would make the file unreadable).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_CT = "application/vnd.openxmlformats-officedocument"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""  # noqa: E501

_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="4">
<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>
<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font>
<font><u/><sz val="11"/><color rgb="FF0563C1"/><name val="Calibri"/><family val="2"/></font>
</fonts>
<fills count="7">
<fill><patternFill patternType="none"/></fill>
<fill><patternFill patternType="gray125"/></fill>
<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E78"/><bgColor indexed="64"/></patternFill></fill>
<fill><patternFill patternType="solid"><fgColor rgb="FFF8CBAD"/><bgColor indexed="64"/></patternFill></fill>
<fill><patternFill patternType="solid"><fgColor rgb="FFFFE699"/><bgColor indexed="64"/></patternFill></fill>
<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill>
<fill><patternFill patternType="solid"><fgColor rgb="FFE2EFDA"/><bgColor indexed="64"/></patternFill></fill>
</fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="10">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="0" fontId="2" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>
<xf numFmtId="0" fontId="0" fillId="3" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
<xf numFmtId="0" fontId="0" fillId="4" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
<xf numFmtId="0" fontId="0" fillId="5" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
<xf numFmtId="0" fontId="0" fillId="6" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""  # noqa: E501

_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_REL}">'
)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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


def _text(value: str) -> str:
    return escape(_INVALID_XML.sub("\ufffd", value))


def _cell(ref: str, value: int | str, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    if isinstance(value, int):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    if not value:
        return f'<c r="{ref}"{s}/>' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'


def _cols(widths: Iterable[float]) -> str:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(widths, start=1)
    )
    return f"<cols>{cols}</cols>"


#: Columns whose text wraps: sized up to this width, the rest of the text on more lines.
_WRAPPED_MAX, _PLAIN_MAX = 70, 66  # 66: a SHA-256 (64) shows whole


def content_widths(
    headers: Sequence[str], rows: Iterable[Sequence[object]], wrapped: Set[int] = frozenset()
) -> list[float]:
    """Column widths sized to their content: the longest text (header included), capped."""
    columns = list(zip(*rows, strict=False)) or [() for _ in headers]
    # The filter button sits next to the title; map() keeps the 100,000-row case in C.
    longest = [
        max(len(h) + 2, max(map(len, map(str, column)), default=0))
        for h, column in zip(headers, columns, strict=False)
    ]
    return [
        float(min(max(n + 2, 6), _WRAPPED_MAX if c in wrapped else _PLAIN_MAX))
        for c, n in enumerate(longest)
    ]


def _dimension(last_column: str, last_row: int) -> str:
    """The sheet's used range: a streaming reader (openpyxl read-only, for the decisions
    import) would otherwise read the whole sheet once just to find it."""
    return f'<dimension ref="A1:{last_column}{max(last_row, 1)}"/>'


def _frozen_header() -> str:
    return (
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>'
        "</sheetViews>"
    )


def _links(links: Sequence[tuple[str, str, str]]) -> str:
    """Links inside the workbook: (cell, target sheet, target cell)."""
    if not links:
        return ""
    items = "".join(
        f'<hyperlink ref="{ref}" location="{_text(repr_sheet(sheet))}!{target}"/>'
        for ref, sheet, target in links
    )
    return f"<hyperlinks>{items}</hyperlinks>"


def repr_sheet(name: str) -> str:
    """A sheet name as a reference writes it: 'Résumé'."""
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Sheet:
    """One worksheet of the workbook: its name, its streamed XML, and its extras."""

    name: str
    parts: Iterable[str]
    filter_ref: str | None = None
    """The autofilter's range, declared again in the workbook (Excel wants both)."""
    chart: str | None = None
    """A chart drawn on this sheet (DrawingML chart XML)."""


@dataclass(frozen=True, slots=True)
class Targets:
    """Where each agent's and each file's first finding sits on the « Constats » sheet."""

    agent: dict[int, int]
    """Roster row → sheet row of its first finding."""
    file: dict[str, int]
    """File → sheet row of its own first finding (not an agent's finding about it)."""

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Targets:
        """Computed from the findings in sheet order (data starts on sheet row 2)."""
        agent: dict[int, int] = {}
        file: dict[str, int] = {}
        for r, row in enumerate(rows, start=2):
            if row.row is not None:
                agent.setdefault(row.row, r)
            elif row.file:
                file.setdefault(row.file, r)
        return cls(agent, file)


# -- Résumé ------------------------------------------------------------------------------------

_STATUS_TOP = 3
"""Sheet row of the status table's header (columns D:E), which the chart reads."""


def _summary_style(label: str) -> int:
    """General warnings stand out: « ATTENTION » and general findings in their colour."""
    if label == "ATTENTION":
        return _SEVERITY_STYLE["bloquant"]
    for severity, style in _SEVERITY_STYLE.items():
        if label.endswith(f"({severity})"):
            return style
    return _BOLD


def _summary_sheet(
    summary: Sequence[tuple[str, str | int]], statuses: Sequence[tuple[str, int]]
) -> Sheet:
    lines: dict[int, list[str]] = {1: [_cell("A1", "Rapport certsync", _BOLD)]}
    for r, (label, value) in enumerate(summary, start=3):
        lines[r] = [
            _cell(f"A{r}", label, _summary_style(label) if label else 0),
            _cell(f"B{r}", value),
        ]
    if statuses:
        top = _STATUS_TOP
        lines.setdefault(top, []).extend(
            [_cell(f"D{top}", "Statut", _HEAD), _cell(f"E{top}", "Agents", _HEAD)]
        )
        for r, (label, count) in enumerate(statuses, start=top + 1):
            lines.setdefault(r, []).extend([_cell(f"D{r}", label), _cell(f"E{r}", count)])
    data = "".join(f'<row r="{r}">{"".join(cells)}</row>' for r, cells in sorted(lines.items()))
    widths = content_widths(("", ""), summary)
    widths += [3.0, *content_widths(("Statut", "Agents"), statuses)] if statuses else []
    drawing = '<drawing r:id="rId1"/>' if statuses else ""
    size = _dimension("E" if statuses else "B", max(lines))
    xml = f"{_SHEET_HEAD}{size}{_cols(widths)}<sheetData>{data}</sheetData>{drawing}</worksheet>"
    return Sheet("Résumé", [xml], chart=_status_chart(statuses) if statuses else None)


def _status_chart(statuses: Sequence[tuple[str, int]]) -> str:
    """A bar chart of agents per status, read from the status table (with cached values)."""
    first, last = _STATUS_TOP + 1, _STATUS_TOP + len(statuses)
    sheet = repr_sheet("Résumé")
    cats = "".join(
        f'<c:pt idx="{i}"><c:v>{_text(label)}</c:v></c:pt>'
        for i, (label, _n) in enumerate(statuses)
    )
    vals = "".join(f'<c:pt idx="{i}"><c:v>{n}</c:v></c:pt>' for i, (_l, n) in enumerate(statuses))
    count = len(statuses)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{_REL}"><c:roundedCorners val="0"/><c:chart>'
        "<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>Agents par statut</a:t></a:r></a:p>"
        '</c:rich></c:tx><c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        '<c:plotArea><c:layout/><c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/>'
        '<c:varyColors val="0"/><c:ser><c:idx val="0"/><c:order val="0"/>'
        f"<c:tx><c:strRef><c:f>{_text(sheet)}!$E${_STATUS_TOP}</c:f></c:strRef></c:tx>"
        '<c:spPr><a:solidFill><a:srgbClr val="1F4E78"/></a:solidFill></c:spPr>'
        '<c:invertIfNegative val="0"/>'
        '<c:dLbls><c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
        '<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
        f"<c:cat><c:strRef><c:f>{_text(sheet)}!$D${first}:$D${last}</c:f>"
        f'<c:strCache><c:ptCount val="{count}"/>{cats}</c:strCache></c:strRef></c:cat>'
        f"<c:val><c:numRef><c:f>{_text(sheet)}!$E${first}:$E${last}</c:f>"
        f'<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{count}"/>{vals}'
        "</c:numCache></c:numRef></c:val></c:ser>"
        '<c:gapWidth val="60"/><c:axId val="10"/><c:axId val="20"/></c:barChart>'
        '<c:catAx><c:axId val="10"/><c:scaling><c:orientation val="maxMin"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="l"/><c:numFmt formatCode="General" sourceLinked="0"/>'
        '<c:tickLblPos val="nextTo"/><c:crossAx val="20"/><c:crosses val="autoZero"/>'
        '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        '<c:valAx><c:axId val="20"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="b"/><c:majorGridlines/>'
        '<c:numFmt formatCode="0" sourceLinked="0"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="10"/><c:crosses val="autoZero"/><c:crossBetween val="between"/>'
        '</c:valAx></c:plotArea><c:plotVisOnly val="1"/></c:chart></c:chartSpace>'
    )


_DRAWING = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">
<xdr:twoCellAnchor>
<xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>2</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>
<xdr:to><xdr:col>13</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>18</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>
<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="Agents par statut"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>
<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>
<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/></a:graphicData></a:graphic>
</xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>
</xdr:wsDr>"""  # noqa: E501


# -- Constats ----------------------------------------------------------------------------------


def _findings_sheet(rows: Sequence[Row], targets: Targets) -> Sheet:
    last = max(len(rows), 1) + 1
    parts = _findings_parts(rows, targets)
    return Sheet("Constats", parts, filter_ref=f"$A$1:${_LETTERS[-1]}${last}")


def _findings_parts(rows: Sequence[Row], targets: Targets) -> Iterator[str]:
    yield _SHEET_HEAD
    yield _dimension(_LETTERS[-1], len(rows) + 1)
    yield _frozen_header()
    decision_width = [float(len(DECISION_HEADER) + 16)]
    yield _cols(content_widths(COLUMNS, (r.cells() for r in rows), {7, 8}) + decision_width)
    yield "<sheetData>"
    head = "".join(_cell(f"{_LETTERS[c]}1", t, _HEAD) for c, t in enumerate(_HEADERS))
    yield f'<row r="1">{head}</row>'
    lists: dict[str, list[int]] = {}
    links: list[tuple[str, str, str]] = []
    for r, row in enumerate(rows, start=2):
        severity = _SEVERITY_STYLE.get(row.severity, 0)
        see = targets.file.get(row.see_file) if row.see_file else None
        parts = []
        for c, value in enumerate(row.cells()):
            style = severity if c == 5 else (_WRAP if c in (7, 8) else 0)
            if c == 8 and see is not None:
                style = _LINK
            parts.append(_cell(f"{_LETTERS[c]}{r}", value, style))
        if see is not None:
            links.append((f"I{r}", "Constats", f"A{see}"))
        if row.choices is not None:
            parts.append(_cell(f"{_DECISION}{r}", "", _DECIDE))
            lists.setdefault(_decision_list(row.choices), []).append(r)
        yield f'<row r="{r}">{"".join(parts)}</row>'
    yield "</sheetData>"
    yield f'<autoFilter ref="A1:{_LETTERS[-1]}{max(len(rows), 1) + 1}"/>'
    yield _decision_validations(lists)
    yield _links(links)
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
        f'promptTitle="{DECISION_HEADER}" prompt="{_text(_PROMPT)}" sqref="{_ranges(refs)}">'
        f'<formula1>"{_text(options)}"</formula1></dataValidation>'
        for options, refs in lists.items()
    )
    return f'<dataValidations count="{len(lists)}">{items}</dataValidations>'


# -- Agents ------------------------------------------------------------------------------------

#: Excel's day 0 for date serial numbers (1900 date system, with its 1900 leap-year bug).
_EXCEL_EPOCH = date(1899, 12, 30)
_SEE = "voir son constat"


def _escape_all(values: Sequence[str]) -> list[str]:
    """_text() of many values at once: three C calls over the joined text instead of three
    per value (100,000 agents); per value when a value holds the separator itself."""
    joined = _SEPARATOR.join(values)
    parts = escape(_INVALID_XML.sub("\ufffd", joined)).split(_SEPARATOR)
    return parts if len(parts) == len(values) else [_text(v) for v in values]


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


def _agents_sheet(agents: Sequence[AgentLine], targets: Targets) -> Sheet:
    last = max(len(agents), 1) + 1
    letter = column_letter(len(AGENT_COLUMNS) - 1)
    return Sheet("Agents", _agents_parts(agents, targets), filter_ref=f"$A$1:${letter}${last}")


def _agents_parts(agents: Sequence[AgentLine], targets: Targets) -> Iterator[str]:
    letters = [column_letter(i) for i in range(len(AGENT_COLUMNS))]
    raw = {field: [getattr(a, field) for a in agents] for _letter, field in _AGENT_TEXTS}
    yield _SHEET_HEAD
    yield _dimension(letters[-1], len(agents) + 1)
    yield _frozen_header()
    widths = content_widths(AGENT_COLUMNS, [])
    widths[0] = float(max(len(AGENT_COLUMNS[0]) + 4, len(str(last_row(agents))) + 2))
    for column, (_letter, field) in zip((1, 2, 3, 4, 5, 6, 8), _AGENT_TEXTS, strict=True):
        longest = max(map(len, raw[field]), default=0)
        widths[column] = float(min(max(longest + 2, widths[column]), _PLAIN_MAX))
    widths[7], widths[9] = 15.0, float(len(_SEE) + 2)
    yield _cols(widths)
    yield "<sheetData>"
    head = "".join(_cell(f"{letters[c]}1", t, _HEAD) for c, t in enumerate(AGENT_COLUMNS))
    yield f'<row r="1">{head}</row>'
    texts = {field: _escape_all(values) for field, values in raw.items()}
    links: list[tuple[str, str, str]] = []
    for i, a in enumerate(agents):
        # Written inline rather than through _cell(): 100,000 rows of ten cells.
        r = i + 2
        parts = [f'<row r="{r}"><c r="A{r}"><v>{a.row}</v></c>']
        for letter, field in _AGENT_TEXTS:
            if letter == "I" and a.not_after is not None:  # cells go in column order
                serial = (a.not_after - _EXCEL_EPOCH).days
                parts.append(f'<c r="H{r}" s="{_DATE}"><v>{serial}</v></c>')
            text = texts[field][i]
            if not text:
                continue
            style = ""
            if letter == "F" and (target := targets.file.get(a.file)) is not None:
                links.append((f"F{r}", "Constats", f"A{target}"))
                style = f' s="{_LINK}"'
            parts.append(
                f'<c r="{letter}{r}"{style} t="inlineStr"><is><t xml:space="preserve">{text}'
                "</t></is></c>"
            )
        own = targets.agent.get(a.row)
        if own is not None:
            links.append((f"J{r}", "Constats", f"A{own}"))
            parts.append(_cell(f"J{r}", _SEE, _LINK))
        parts.append("</row>")
        yield "".join(parts)
    yield "</sheetData>"
    yield f'<autoFilter ref="A1:{letters[-1]}{max(len(agents), 1) + 1}"/>'
    yield _links(links)
    yield "</worksheet>"


# -- Plan --------------------------------------------------------------------------------------

_PLAN_WRAPPED = frozenset({3, 4})


def _plan_sheet(plan: Sequence[Sequence[int | str]]) -> Sheet:
    """What the run does (or would do) to each account: one row per agent."""
    last = max(len(plan), 1) + 1
    letter = column_letter(len(PLAN_COLUMNS) - 1)
    return Sheet("Plan", _plan_parts(plan), filter_ref=f"$A$1:${letter}${last}")


def _plan_parts(plan: Sequence[Sequence[int | str]]) -> Iterator[str]:
    letters = [column_letter(i) for i in range(len(PLAN_COLUMNS))]
    yield _SHEET_HEAD
    yield _dimension(letters[-1], len(plan) + 1)
    yield _frozen_header()
    # Sized on the first rows: the plan repeats a few actions and reasons thousands of times.
    yield _cols(content_widths(PLAN_COLUMNS, plan[:2000], _PLAN_WRAPPED))
    yield "<sheetData>"
    head = "".join(_cell(f"{letters[c]}1", t, _HEAD) for c, t in enumerate(PLAN_COLUMNS))
    yield f'<row r="1">{head}</row>'
    for r, cells in enumerate(plan, start=2):
        parts = "".join(_cell(f"{letters[c]}{r}", v) for c, v in enumerate(cells))
        yield f'<row r="{r}">{parts}</row>'
    yield "</sheetData>"
    yield f'<autoFilter ref="A1:{letters[-1]}{max(len(plan), 1) + 1}"/>'
    yield "</worksheet>"


def last_row(agents: Sequence[AgentLine]) -> int:
    """The largest roster row number (for the « Ligne » column's width)."""
    return max((a.row for a in agents), default=0)


# -- the package -------------------------------------------------------------------------------


def _content_types(sheets: Sequence[Sheet]) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.spreadsheetml.styles+xml"/>'
    ]
    for i, sheet in enumerate(sheets, start=1):
        parts.append(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            f'ContentType="{_CT}.spreadsheetml.worksheet+xml"/>'
        )
        if sheet.chart is not None:
            parts.append(
                f'<Override PartName="/xl/drawings/drawing{i}.xml" '
                f'ContentType="{_CT}.drawing+xml"/>'
                f'<Override PartName="/xl/charts/chart{i}.xml" '
                f'ContentType="{_CT}.drawingml.chart+xml"/>'
            )
    return "".join(parts) + "</Types>"


def _workbook(sheets: Sequence[Sheet]) -> str:
    entries = "".join(
        f'<sheet name="{_text(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{_text(repr_sheet(s.name))}!{s.filter_ref}</definedName>"
        for i, s in enumerate(sheets)
        if s.filter_ref
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{_REL}"><sheets>{entries}</sheets>'
        + (f"<definedNames>{names}</definedNames>" if names else "")
        + "</workbook>"
    )


def _rels(targets: Sequence[tuple[str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL}/{kind}" Target="{target}"/>'
        for i, (kind, target) in enumerate(targets, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{items}</Relationships>"
    )


def _write_sheet(book: zipfile.ZipFile, name: str, parts: Iterable[str]) -> None:
    """Stream a worksheet into the archive in chunks (100,000 findings never in one string)."""
    with book.open(name, "w") as sheet:
        buffer: list[str] = []
        for part in parts:
            buffer.append(part)
            if len(buffer) >= 512:
                sheet.write("".join(buffer).encode("utf-8"))
                buffer.clear()
        sheet.write("".join(buffer).encode("utf-8"))


def write_xlsx(
    path: Path,
    summary: Sequence[tuple[str, str | int]],
    rows: Sequence[Row],
    *,
    agents: Sequence[AgentLine] = (),
    statuses: Sequence[tuple[str, int]] = (),
    plan: Iterable[Sequence[int | str]] = (),
) -> None:
    """Write the workbook atomically: « Résumé » (with a chart of statuses when given),
    « Constats » (blocking first, a « Décision » column), « Agents » and « Plan » when given."""
    targets = Targets.of(rows)
    sheets = [_summary_sheet(summary, statuses), _findings_sheet(rows, targets)]
    if agents:
        sheets.append(_agents_sheet(agents, targets))
    plan_cells = list(plan)
    if plan_cells:
        sheets.append(_plan_sheet(plan_cells))
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book,
    ):
        book.writestr("[Content_Types].xml", _content_types(sheets))
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _workbook(sheets))
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            _rels(
                [("worksheet", f"worksheets/sheet{i}.xml") for i in range(1, len(sheets) + 1)]
                + [("styles", "styles.xml")]
            ),
        )
        book.writestr("xl/styles.xml", _STYLES)
        for i, sheet in enumerate(sheets, start=1):
            _write_sheet(book, f"xl/worksheets/sheet{i}.xml", sheet.parts)
            if sheet.chart is not None:
                book.writestr(
                    f"xl/worksheets/_rels/sheet{i}.xml.rels",
                    _rels([("drawing", f"../drawings/drawing{i}.xml")]),
                )
                book.writestr(f"xl/drawings/drawing{i}.xml", _DRAWING)
                book.writestr(
                    f"xl/drawings/_rels/drawing{i}.xml.rels",
                    _rels([("chart", f"../charts/chart{i}.xml")]),
                )
                book.writestr(f"xl/charts/chart{i}.xml", sheet.chart)
