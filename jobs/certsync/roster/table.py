"""The roster as raw rows of text, whatever file format it came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from certsync.roster.formulas import EmptyFormulas


@dataclass(frozen=True, slots=True)
class Row:
    """One record of the file, before any mapping or cleaning."""

    number: int
    """Line (CSV) or Excel row (XLSX) the record starts on, 1-based."""
    cells: Sequence[str]
    """Cell values as text."""


@dataclass(frozen=True, slots=True)
class Table:
    """Every record of the roster file, plus what the reader detected."""

    rows: list[Row]
    """Records in file order, blank ones included."""
    detected: dict[str, str] = field(default_factory=dict)
    """Format, encoding, separator, sheet…"""
    formulas: EmptyFormulas | None = None
    """XLSX only: formula cells saved without a result, which read as empty."""
