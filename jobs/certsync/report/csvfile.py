"""exceptions.csv: UTF-8 with BOM, `;`, with formula-looking cells neutralised."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from certsync.fsutil import atomic_write_text
from certsync.report.rows import COLUMNS, Row

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: int | str) -> int | str:
    """Prefix `'` to text that a spreadsheet would evaluate as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: Path, rows: Sequence[Row]) -> None:
    """Write the findings as CSV for Excel (UTF-8 with BOM, `;`) atomically."""

    def write(handle: IO[str]) -> None:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([neutralise(v) for v in row.cells()])

    atomic_write_text(path, write, encoding="utf-8-sig")
