"""Finding formula cells whose result was never saved: calamine reads them as empty cells."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib

from defusedxml import ElementTree

from certsync.roster.extent import chunks

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# A cell holding a formula (<f>) and no cached value (<v> missing or empty). Workbooks written
# by tools other than Excel (scripts, some exports) often look like this, and the data then
# disappears without a trace (matching-and-reliability.md §3.1). A regex, not an XML parse:
# it runs over the whole sheet and must cost little next to calamine.
_EMPTY_FORMULA = re.compile(
    rb'<(?:\w+:)?c r="([A-Z]{1,3})([0-9]+)"[^>]*>\s*'
    rb"<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
_SMALL_PART = 4 * 1024 * 1024


def column_index(letters: bytes) -> int:
    """0-based index of a column's letters (A → 0, AB → 27)."""
    index = 0
    for letter in letters:
        index = index * 26 + letter - ord("A") + 1
    return index - 1


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """Zip member holding the named sheet, from workbook.xml and its relationships."""
    try:
        workbook = ElementTree.fromstring(_read_small(archive, "xl/workbook.xml"))
        rels = ElementTree.fromstring(_read_small(archive, "xl/_rels/workbook.xml.rels"))
    except (KeyError, ValueError, ElementTree.ParseError):
        return None
    rel_id = next(
        (s.get(f"{_REL}id") for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == sheet),
        None,
    )
    target = next(
        (r.get("Target") for r in rels.iter(f"{_PKG}Relationship") if r.get("Id") == rel_id), None
    )
    if not target:
        return None
    # Targets are relative to xl/, or absolute within the package when they start with "/".
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > _SMALL_PART:
        raise ValueError(name)
    return archive.read(info)


def empty_formulas(archive: zipfile.ZipFile, sheet: str) -> dict[tuple[int, int], str]:
    """(Excel row, 0-based column) → cell reference, for formulas without a saved result."""
    found: dict[tuple[int, int], str] = {}
    try:
        part = _sheet_part(archive, sheet)
        # A row at a time, never the whole sheet: it may be hundreds of megabytes.
        for xml in chunks(archive, part, b"<row") if part is not None else ():
            if b"</f>" not in xml and b"<f " not in xml and b":f>" not in xml:
                continue  # the usual case: no formula at all, one fast scan
            found.update(
                ((int(match[2]), column_index(match[1])), (match[1] + match[2]).decode())
                for match in _EMPTY_FORMULA.finditer(xml)
            )
    except (KeyError, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error):
        # Best effort: calamine has already read this sheet; a part it could read but we
        # cannot only costs the explanation, not data.
        return {}
    return found


class EmptyFormulas:
    """Formula cells without a result in one sheet, scanned on first use.

    Scanning means decompressing the sheet once more (about 0.2 s per 100,000 rows), so it only
    happens when a row actually has an empty cell to explain.
    """

    __slots__ = ("_cells", "_data", "_sheet")

    def __init__(self, data: bytes, sheet: str) -> None:
        self._data = data
        self._sheet = sheet
        self._cells: dict[tuple[int, int], str] | None = None

    def get(self, row: int, column: int) -> str | None:
        """Reference (`D5`) of the cell if it is a formula saved without a result."""
        if self._cells is None:
            with zipfile.ZipFile(io.BytesIO(self._data)) as archive:
                self._cells = empty_formulas(archive, self._sheet)
            self._data = b""
        return self._cells.get((row, column))
