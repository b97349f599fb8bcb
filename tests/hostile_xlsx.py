"""A bare xlsx writer for hostile rosters: any cell anywhere, millions of rows, in seconds."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from certsync.roster.extent import column_name

_CT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    f'<Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_DOC}"><sheets><sheet name="Agents" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
HEADER = ("Nom", "Prénom", "Courriel")

#: One row: its number and its cells as (0-based column, text or None for a blank styled cell).
Rows = Iterable[tuple[int, Sequence[tuple[int, str | None]]]]


def cell(row: int, column: int, text: str | None, *, with_ref: bool = True) -> str:
    """One cell as xlsx XML (an inline string, or a formatted cell without value)."""
    ref = f' r="{column_name(column + 1)}{row}"' if with_ref else ""
    if text is None:
        return f'<c{ref} s="1"/>'
    return f'<c{ref} t="inlineStr"><is><t>{text}</t></is></c>'


def agents(count: int, first: int = 2) -> Rows:
    """The header row and `count` agent rows."""
    yield 1, list(enumerate(HEADER))
    for number in range(first, first + count):
        yield number, [(0, f"NOM{number}"), (1, "Jean"), (2, f"a{number}@x.fr")]


_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def write(path: Path, rows: Rows, *, with_refs: bool = True, shared: int = 0) -> Path:
    """Write a one-sheet workbook named « Agents », with `shared` unused shared strings."""
    content_types, workbook_rels = _CT, _WORKBOOK_RELS
    if shared:
        content_types = _CT.replace(
            "</Types>",
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST_TYPE}"/></Types>',
        )
        workbook_rels = _WORKBOOK_RELS.replace(
            "</Relationships>",
            f'<Relationship Id="rId2" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        if shared:
            with archive.open("xl/sharedStrings.xml", "w") as out:
                out.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.')
                out.write(b'openxmlformats.org/spreadsheetml/2006/main">')
                for start in range(0, shared, 100_000):
                    end = min(shared, start + 100_000)
                    out.write("".join(f"<si><t>{i:x}</t></si>" for i in range(start, end)).encode())
                out.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            batch: list[str] = []
            for number, cells in rows:
                row_ref = f' r="{number}"' if with_refs else ""
                inner = "".join(cell(number, c, t, with_ref=with_refs) for c, t in cells)
                batch.append(f"<row{row_ref}>{inner}</row>")
                if len(batch) >= 10_000:
                    out.write("".join(batch).encode())
                    batch.clear()
            out.write("".join(batch).encode())
            out.write(b"</sheetData></worksheet>")
    return path
