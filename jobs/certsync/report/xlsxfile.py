"""exceptions.xlsx: summary, findings, agents, plan; no cell can ever be a formula.

Each sheet is built by its own function (`summary_sheet`, `findings_sheet`, `agents_sheet`,
`plan_sheet`, in `summary_sheet.py`, `findings_sheet.py` and `table_sheets.py`, over the
primitives of `sheetml.py`) returning a `Sheet`; `write_xlsx` assembles the package from the
list, so that a sheet is added by adding one function and one entry.

Written as SpreadsheetML directly rather than through a library: a run with 100,000 agents has
tens of thousands of findings, and a general-purpose writer spends about 5 µs per cell where
string formatting spends under 1. Every text cell is an inline string, which a spreadsheet
never evaluates (a roster name "=HYPERLINK(…)" stays text).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from certsync.fsutil import atomic_path
from certsync.report.findings_sheet import findings_sheet
from certsync.report.rows import AgentLine, Row
from certsync.report.sheetml import (
    REL,
    STYLES,
    Sheet,
    Targets,
    column_letter,
    content_widths,
    repr_sheet,
    text,
)
from certsync.report.summary_sheet import DRAWING, summary_sheet
from certsync.report.table_sheets import agents_sheet, last_row, plan_sheet

__all__ = [
    "Sheet",
    "Targets",
    "column_letter",
    "content_widths",
    "last_row",
    "repr_sheet",
    "write_xlsx",
]

_CT = "application/vnd.openxmlformats-officedocument"
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""  # noqa: E501


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
        f'<sheet name="{text(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{text(repr_sheet(s.name))}!{s.filter_ref}</definedName>"
        for i, s in enumerate(sheets)
        if s.filter_ref
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{REL}"><sheets>{entries}</sheets>'
        + (f"<definedNames>{names}</definedNames>" if names else "")
        + "</workbook>"
    )


def _rels(targets: Sequence[tuple[str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/{kind}" Target="{target}"/>'
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
    sheets = [summary_sheet(summary, statuses), findings_sheet(rows, targets)]
    if agents:
        sheets.append(agents_sheet(agents, targets))
    plan_cells = list(plan)
    if plan_cells:
        sheets.append(plan_sheet(plan_cells))
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
        book.writestr("xl/styles.xml", STYLES)
        for i, sheet in enumerate(sheets, start=1):
            _write_sheet(book, f"xl/worksheets/sheet{i}.xml", sheet.parts)
            if sheet.chart is not None:
                book.writestr(
                    f"xl/worksheets/_rels/sheet{i}.xml.rels",
                    _rels([("drawing", f"../drawings/drawing{i}.xml")]),
                )
                book.writestr(f"xl/drawings/drawing{i}.xml", DRAWING)
                book.writestr(
                    f"xl/drawings/_rels/drawing{i}.xml.rels",
                    _rels([("chart", f"../charts/chart{i}.xml")]),
                )
                book.writestr(f"xl/charts/chart{i}.xml", sheet.chart)
