"""SpreadsheetML primitives shared by every sheet: styles, cells, columns, links, records."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from xml.sax.saxutils import escape

from certsync.report.rows import Row

# Style indexes into styles.xml's cellXfs, below.
BOLD, HEAD, WRAP, DECIDE, LINK, DATE = 1, 2, 3, 7, 8, 9
SEVERITY_STYLE = {"bloquant": 4, "avertissement": 5, "information": 6}
# Characters XML 1.0 cannot carry at all (a cell would make the file unreadable).
INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
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

SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{REL}">'
)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def text(value: str) -> str:
    return escape(INVALID_XML.sub("\ufffd", value))


def cell(ref: str, value: int | str, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    if isinstance(value, int):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    if not value:
        return f'<c r="{ref}"{s}/>' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text(value)}</t></is></c>'


def cols(widths: Iterable[float]) -> str:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(widths, start=1)
    )
    return f"<cols>{cols}</cols>"


#: Columns whose text wraps: sized up to this width, the rest of the text on more lines.
WRAPPED_MAX, PLAIN_MAX = 70, 66  # 66: a SHA-256 (64) shows whole


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
        float(min(max(n + 2, 6), WRAPPED_MAX if c in wrapped else PLAIN_MAX))
        for c, n in enumerate(longest)
    ]


def dimension(last_column: str, last_row: int) -> str:
    """The sheet's used range: a streaming reader (openpyxl read-only, for the decisions
    import) would otherwise read the whole sheet once just to find it."""
    return f'<dimension ref="A1:{last_column}{max(last_row, 1)}"/>'


def frozen_header() -> str:
    return (
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>'
        "</sheetViews>"
    )


def hyperlinks(links: Sequence[tuple[str, str, str]]) -> str:
    """Links inside the workbook: (cell, target sheet, target cell)."""
    if not links:
        return ""
    items = "".join(
        f'<hyperlink ref="{ref}" location="{text(repr_sheet(sheet))}!{target}"/>'
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
