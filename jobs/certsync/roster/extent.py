"""How far a worksheet extends, read from its XML as a stream, before any table is built.

calamine builds a dense table from A1 to the last cell: one cell at XFD1048576 in a 1.7 KB
file asks for 17 billion cells (512 GiB) and aborts the process. The cells' coordinates are
read here first, a chunk of decompressed XML at a time, so that such a sheet is refused with
a message instead.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

# Excel, LibreOffice, openpyxl and xlsxwriter give every cell its `r` coordinate: the fast
# path reads them with regular expressions that start with a literal (` r="`), which the
# engine finds quickly; only cells have an `r` attribute made of letters and digits. A cell
# written `<c r="B5" s="1"/>` (formatted, no value) takes no room in calamine's table and is
# not counted: `[^>/]*>` after the coordinate leaves out self-closing cells.
_CELL = re.compile(rb"<c[\s/>]")
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s/>]")
_WITH_R = re.compile(rb' r="[A-Z]')
_COLUMN = re.compile(rb' r="([A-Z]{1,4})\d{1,9}"[^>/]*>')
_ROW = re.compile(rb' r="[A-Z]{1,4}(\d{1,9})"[^>/]*>')
_PREFIXED_SI = re.compile(rb"<[A-Za-z_][\w.-]*:si[\s>]")
_REF = re.compile(r"^([A-Z]{1,4})(\d{1,9})$")

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Extent:
    """The last row and column a sheet uses (1-based), as calamine will lay it out from A1."""

    rows: int
    columns: int

    @property
    def cells(self) -> int:
        """Cells of the dense table from A1 to the last used row and column."""
        return self.rows * self.columns

    @property
    def corner(self) -> str:
        """The last cell's name, as Excel shows it (`XFD1048576`)."""
        return f"{column_name(self.columns)}{self.rows}" if self.rows and self.columns else "A1"


def column_number(letters: str) -> int:
    """`A` → 1, `Z` → 26, `AA` → 27, `XFD` → 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - 64)
    return number


def column_name(number: int) -> str:
    """1 → `A`, 16384 → `XFD`."""
    name = ""
    while number:
        number, rest = divmod(number - 1, 26)
        name = chr(65 + rest) + name
    return name


def _xml(archive: zipfile.ZipFile, member: str) -> Any:
    try:
        return ElementTree.fromstring(archive.read(member))
    except (KeyError, ElementTree.ParseError, ValueError):
        return None


def _targets(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relations: id → (type, member name), targets resolved against the part."""
    folder, name = posixpath.split(part)
    rels = _xml(archive, posixpath.join(folder, "_rels", f"{name}.rels"))
    found: dict[str, tuple[str, str]] = {}
    for rel in rels.iter(f"{_PKG_REL}Relationship") if rels is not None else ():
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(path))
    return found


def sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The archive member holding the named worksheet, found through the package relations."""
    workbook = next(
        (t for kind, t in _targets(archive, "").values() if kind.endswith("/officeDocument")),
        None,
    )
    root = _xml(archive, workbook) if workbook else None
    if workbook is None or root is None:
        return None
    targets = _targets(archive, workbook)
    for element in root.iter(f"{_MAIN}sheet"):
        if element.get("name") == sheet:
            return targets.get(element.get(f"{_REL}id", ""), ("", None))[1]
    return None


def shared_strings(archive: zipfile.ZipFile) -> str | None:
    """The archive member holding the workbook's shared strings, if it has one."""
    workbook = next(
        (t for kind, t in _targets(archive, "").values() if kind.endswith("/officeDocument")),
        None,
    )
    if workbook is None:
        return None
    return next(
        (t for kind, t in _targets(archive, workbook).values() if kind.endswith("/sharedStrings")),
        None,
    )


def count_strings(archive: zipfile.ZipFile, member: str) -> int:
    """How many strings a shared strings part holds (its `<si>` elements), read as a stream."""
    count = 0
    for chunk in chunks(archive, member):
        count += chunk.count(b"<si>") + chunk.count(b"<si ")
        if b":si" in chunk:
            count += len(_PREFIXED_SI.findall(chunk))
    return count


def chunks(archive: zipfile.ZipFile, member: str, cut: bytes = b"<") -> Iterator[bytes]:
    """Decompressed XML in pieces, each ending just before the last `cut` it holds.

    With `<` no tag is ever split; with `<row` no row is.
    """
    carry = b""
    with archive.open(member) as stream:
        while True:
            block = stream.read(_CHUNK)
            if not block:
                if carry:
                    yield carry
                return
            data = carry + block
            end = data.rfind(cut)
            if end <= 0:
                carry = data
                continue
            yield data[:end]
            carry = data[end:]


def extent(archive: zipfile.ZipFile, member: str) -> Extent:
    """The sheet's last used row and column, without building anything per cell."""
    rows = columns = 0
    for chunk in chunks(archive, member):
        cells = len(_CELL.findall(chunk))
        if b":c" in chunk:
            cells += len(_PREFIXED_CELL.findall(chunk))
        if cells != len(_WITH_R.findall(chunk)):
            return _extent_exact(archive, member)  # cells placed by their order only
        # Sets first: the conversions run once per distinct column and row, not per cell.
        letters = set(_COLUMN.findall(chunk))
        if letters:
            columns = max(columns, max(column_number(c.decode()) for c in letters))
        numbers = set(_ROW.findall(chunk))
        if numbers:
            rows = max(rows, max(int(r) for r in numbers))
    return Extent(rows, columns)


def _extent_exact(archive: zipfile.ZipFile, member: str) -> Extent:
    """The slow path, for cells without coordinates: positions counted as calamine does.

    A row without `r` follows the previous one; a cell without `r` follows the previous cell
    of its row. Formatted cells without a value are counted too (an upper bound).
    """
    rows = columns = row = column = 0
    with archive.open(member) as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = element.tag.rsplit("}", 1)[-1]
            if event == "start" and tag == "row":
                given = element.get("r") or ""
                row = int(given) if given.isdigit() else row + 1
                column = 0
            elif event == "start" and tag == "c":
                match = _REF.match(element.get("r") or "")
                column = column_number(match.group(1)) if match else column + 1
                rows = max(rows, int(match.group(2)) if match else row)
                columns = max(columns, column)
            elif event == "end" and tag == "row":
                element.clear()
    return Extent(rows, columns)
