"""exceptions.xlsx: a summary sheet, then the findings; no cell can ever be a formula.

Written as SpreadsheetML directly rather than through a library: a run with 100,000 agents has
tens of thousands of findings, and a general-purpose writer spends about 5 µs per cell where
string formatting spends under 1. Every text cell is an inline string, which a spreadsheet
never evaluates (a roster name "=HYPERLINK(…)" stays text).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from certsync.fsutil import atomic_path
from certsync.report.rows import COLUMNS, DECISION_HEADER, IGNORE_CHOICE, Row

_WIDTHS = (7, 34, 26, 30, 26, 13, 30, 70, 70, 66, 34)
# Style indexes into styles.xml's cellXfs, below.
_BOLD, _HEAD, _WRAP, _DECIDE = 1, 2, 3, 7
_SEVERITY_STYLE = {"bloquant": 4, "avertissement": 5, "information": 6}
# Characters XML 1.0 cannot carry at all (a cell would make the file unreadable).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""  # noqa: E501

_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""  # noqa: E501

_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Résumé" sheetId="1" r:id="rId1"/><sheet name="Constats" sheetId="2" r:id="rId2"/></sheets>
<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="1" hidden="1">Constats!$A$1:${last_col}${last_row}</definedName></definedNames>
</workbook>"""  # noqa: E501

_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""  # noqa: E501

_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="3">
<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>
<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font>
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
<cellXfs count="8">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="0" fontId="2" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>
<xf numFmtId="0" fontId="0" fillId="3" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
<xf numFmtId="0" fontId="0" fillId="4" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
<xf numFmtId="0" fontId="0" fillId="5" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
<xf numFmtId="0" fontId="0" fillId="6" borderId="0" xfId="0" applyFill="1" applyAlignment="1"><alignment vertical="top"/></xf>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""  # noqa: E501

_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
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


def _summary_sheet(summary: Sequence[tuple[str, str | int]]) -> str:
    rows = [f'<row r="1">{_cell("A1", "Rapport certsync", _BOLD)}</row>']
    for r, (label, value) in enumerate(summary, start=3):
        rows.append(f'<row r="{r}">{_cell(f"A{r}", label, _BOLD)}{_cell(f"B{r}", value)}</row>')
    data = "".join(rows)
    return f"{_SHEET_HEAD}{_cols((34, 90))}<sheetData>{data}</sheetData></worksheet>"


def _findings_sheet(rows: Sequence[Row]) -> Iterable[str]:
    yield _SHEET_HEAD
    yield (
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>'
        "</sheetViews>"
    )
    yield _cols(_WIDTHS)
    yield "<sheetData>"
    head = "".join(_cell(f"{_LETTERS[c]}1", t, _HEAD) for c, t in enumerate(_HEADERS))
    yield f'<row r="1">{head}</row>'
    lists: dict[str, list[str]] = {}
    for r, row in enumerate(rows, start=2):
        severity = _SEVERITY_STYLE.get(row.severity, 0)
        cells = row.cells()
        parts = []
        for c, value in enumerate(cells):
            style = severity if c == 5 else (_WRAP if c in (7, 8) else 0)
            parts.append(_cell(f"{_LETTERS[c]}{r}", value, style))
        if row.choices is not None:
            parts.append(_cell(f"{_DECISION}{r}", "", _DECIDE))
            lists.setdefault(_decision_list(row.choices), []).append(f"{_DECISION}{r}")
        yield f'<row r="{r}">{"".join(parts)}</row>'
    yield "</sheetData>"
    yield f'<autoFilter ref="A1:{_LETTERS[-1]}{max(len(rows), 1) + 1}"/>'
    yield _decision_validations(lists)
    yield "</worksheet>"


def _decision_list(choices: Sequence[str]) -> str:
    """The drop-down's literal list: the candidates that fit Excel's limit, then « ignorer »."""
    options = [c for c in choices if c and "," not in c and '"' not in c]
    while options and len(",".join([*options, IGNORE_CHOICE])) > _LIST_MAX:
        options.pop()
    return ",".join([*options, IGNORE_CHOICE])


def _decision_validations(lists: dict[str, list[str]]) -> str:
    """One list validation per set of candidates; the error alert is off, so that any roster
    e-mail may be typed in, not only the candidates offered."""
    if not lists:
        return ""
    items = "".join(
        f'<dataValidation type="list" allowBlank="1" showErrorMessage="0" showInputMessage="1" '
        f'promptTitle="{DECISION_HEADER}" prompt="{_text(_PROMPT)}" sqref="{" ".join(refs)}">'
        f'<formula1>"{_text(options)}"</formula1></dataValidation>'
        for options, refs in lists.items()
    )
    return f'<dataValidations count="{len(lists)}">{items}</dataValidations>'


def write_xlsx(path: Path, summary: Sequence[tuple[str, str | int]], rows: Sequence[Row]) -> None:
    """Write the workbook atomically."""
    workbook = _WORKBOOK.replace("{last_col}", _LETTERS[-1]).replace(
        "{last_row}", str(max(len(rows), 1) + 1)
    )
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book,
    ):
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", workbook)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        book.writestr("xl/styles.xml", _STYLES)
        book.writestr("xl/worksheets/sheet1.xml", _summary_sheet(summary))
        with book.open("xl/worksheets/sheet2.xml", "w") as sheet:
            buffer: list[str] = []
            for part in _findings_sheet(rows):
                buffer.append(part)
                if len(buffer) >= 512:
                    sheet.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
            sheet.write("".join(buffer).encode("utf-8"))
