"""exceptions.xlsx: a summary sheet, then the findings, with no cell ever a formula."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

from certsync.fsutil import atomic_path
from certsync.report.rows import COLUMNS, Row

_WIDTHS = (7, 34, 26, 30, 26, 13, 30, 70, 70, 66)
_SEVERITY_COLOURS = {"bloquant": "#F8CBAD", "avertissement": "#FFE699", "information": "#DDEBF7"}


def write_xlsx(path: Path, summary: Sequence[tuple[str, str | int]], rows: Sequence[Row]) -> None:
    """Write the workbook atomically; every text cell is written as a string."""
    with atomic_path(path) as tmp:
        # strings_to_formulas/urls off: a roster cell "=HYPERLINK(...)" must stay text.
        book = xlsxwriter.Workbook(
            str(tmp),
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "constant_memory": True,
            },
        )
        bold = book.add_format({"bold": True})
        head = book.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF"})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        colours = {
            label: book.add_format({"bg_color": colour, "valign": "top"})
            for label, colour in _SEVERITY_COLOURS.items()
        }

        sheet = book.add_worksheet("Résumé")
        sheet.set_column(0, 0, 34)
        sheet.set_column(1, 1, 90)
        sheet.write_string(0, 0, "Rapport certsync", bold)
        for i, (label, value) in enumerate(summary, start=2):
            sheet.write_string(i, 0, label, bold)
            if isinstance(value, int):
                sheet.write_number(i, 1, value)
            else:
                sheet.write_string(i, 1, value)

        table = book.add_worksheet("Constats")
        for col, (title, width) in enumerate(zip(COLUMNS, _WIDTHS, strict=True)):
            table.set_column(col, col, width)
            table.write_string(0, col, title, head)
        table.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            cells = row.cells()
            colour = colours.get(row.severity)
            for col, value in enumerate(cells):
                fmt = colour if col == 5 else (wrap if col in (7, 8) else None)
                if isinstance(value, int):
                    table.write_number(r, col, value, fmt)
                else:
                    table.write_string(r, col, value, fmt)
        table.autofilter(0, 0, max(len(rows), 1), len(COLUMNS) - 1)
        book.close()
