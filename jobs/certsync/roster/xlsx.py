"""Reading an xlsx roster safely: zip checks first, then cached cell values through calamine."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import zipfile

import python_calamine

from certsync.config import Limits
from certsync.errors import InputError
from certsync.roster.extent import count_strings, extent, shared_strings, sheet_part
from certsync.roster.formulas import EmptyFormulas
from certsync.roster.table import Row, Table

# openpyxl (used to inspect workbooks) only guards against XML entity attacks when defusedxml is
# importable; a broken install must fail loudly here. Imported by name: openpyxl has no stubs.
if not importlib.import_module("openpyxl").DEFUSEDXML:
    raise ImportError("defusedxml must be installed: openpyxl.DEFUSEDXML is False")

MAX_MEMBERS = 10_000
"""An xlsx with more parts than this is not a roster."""
MAX_RATIO = 1_000
"""Largest compression ratio accepted for a part bigger than RATIO_FLOOR (zip bomb guard)."""
RATIO_FLOOR = 1024 * 1024
"""Parts smaller than this may compress as well as they like."""

SAVE_AS_HINT = "Ouvrez-le dans votre tableur et enregistrez-le au format .xlsx ou .csv."


def check_zip(data: bytes, name: str, limits: Limits) -> None:
    """Refuse what is not a plain xlsx before any XML is parsed: bombs, macros, not a zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError(
            f"La liste des agents « {name} » n'est pas un classeur .xlsx valide "
            "(le fichier est abîmé ou n'est pas au format xlsx).",
            hint=SAVE_AS_HINT,
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise _too_big(name, f"{len(members)} parties")
        total = 0
        for member in members:
            total += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                raise _too_big(name, f"taux de compression de {ratio:.0f} pour 1")
        if total > limits.max_xlsx_uncompressed_bytes:
            raise _too_big(name, f"{total // (1024 * 1024)} Mio une fois décompressé")
        names = {m.filename.lower() for m in members}
        content_types = b""
        if "[content_types].xml" in names:
            info = next(m for m in members if m.filename.lower() == "[content_types].xml")
            if info.file_size <= RATIO_FLOOR:
                content_types = archive.read(info)
        if any(n.endswith("vbaproject.bin") for n in names) or (
            b"macroEnabled" in content_types or b"vbaProject" in content_types
        ):
            raise InputError(
                f"La liste des agents « {name} » est un classeur avec macros (.xlsm) : "
                "certsync ne lit pas les classeurs avec macros.",
                hint="Enregistrez-le sous « Classeur Excel (.xlsx) » ou au format .csv.",
            )
        # The workbook part may live under another name; its content type is what identifies it.
        if b"spreadsheetml.sheet.main+xml" not in content_types and (
            b"spreadsheetml.template.main+xml" not in content_types
        ):
            raise InputError(
                f"La liste des agents « {name} » n'est pas un classeur Excel .xlsx "
                "(archive zip d'un autre type).",
                hint=SAVE_AS_HINT,
            )


def _too_big(name: str, what: str) -> InputError:
    return InputError(
        f"La liste des agents « {name} » est refusée : classeur anormalement volumineux ({what}).",
        hint="Enregistrez la liste au format .csv, ou vérifiez qu'il s'agit du bon fichier.",
    )


def check_shared_strings(data: bytes, name: str, limits: Limits) -> None:
    """Refuse a workbook whose shared strings alone would not fit (calamine loads them all).

    A sheet cannot use more distinct strings than it has cells: 9 million tiny strings in a
    22 MB file took 590 MB.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        part = shared_strings(archive)
        if part is None or part not in archive.NameToInfo:
            return
        size = archive.getinfo(part).file_size
        count = count_strings(archive, part) if size <= limits.max_roster_bytes else 0
    if size > limits.max_roster_bytes:
        raise _too_big(name, f"{size // (1024 * 1024)} Mio de textes")
    if count > limits.max_roster_cells:
        raise _too_big(
            name,
            f"{_n(count)} textes différents, pour {_n(limits.max_roster_cells)} "
            "cellules lues au plus",
        )


def check_extent(data: bytes, name: str, sheet: str, limits: Limits) -> None:
    """Refuse a sheet whose table, from A1 to its last used cell, would not fit in memory."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        part = sheet_part(archive, sheet)
        if part is None or part not in archive.NameToInfo:
            raise InputError(
                f"La liste des agents « {name} » a une structure inhabituelle : la feuille "
                f"« {sheet} » est introuvable dans le classeur.",
                hint=SAVE_AS_HINT,
            )
        found = extent(archive, part)
    if found.rows <= limits.max_roster_rows and found.cells <= limits.max_roster_cells:
        return
    raise InputError(
        f"La liste des agents « {name} » est refusée : la feuille « {sheet} » s'étend jusqu'à "
        f"la cellule {found.corner}, soit {_n(found.rows)} lignes sur {_n(found.columns)} "
        f"colonnes ; certsync lit au plus {_n(limits.max_roster_rows)} lignes et "
        f"{_n(limits.max_roster_cells)} cellules (lignes × colonnes).",
        hint="Une cellule remplie loin des données agrandit toute la feuille : dans le tableur, "
        "Ctrl+Fin montre la dernière cellule utilisée ; supprimez les lignes et colonnes au-delà "
        "des agents puis enregistrez. Pour une liste réellement plus grande, découpez-la ou "
        "augmentez [limits] max_roster_rows et max_roster_cells.",
    )


def _n(number: int) -> str:
    """A count as French text: `1 048 576` (narrow no-break spaces)."""
    return f"{number:,}".replace(",", "\u202f")


def cell_text(value: object) -> str:
    """A calamine value as text: integral floats lose their `.0`, dates their time if midnight."""
    match value:
        case str():
            return value
        case bool():
            return "VRAI" if value else "FAUX"
        case int():
            return str(value)
        case float():
            # Excel stores every number as a float; a SIREN typed as a number reads 213502388.0.
            if value.is_integer() and abs(value) < 1e16:
                return str(int(value))
            return repr(value)
        case dt.datetime():
            return value.isoformat(sep=" ")
        case dt.date() | dt.time():
            return value.isoformat()
        case _:
            return str(value)


def read_xlsx(data: bytes, name: str, sheet: str | None, limits: Limits) -> Table:
    """Every row of the chosen sheet (first worksheet unless `sheet`), numbered as Excel does."""
    try:
        check_zip(data, name, limits)
        check_shared_strings(data, name, limits)
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(workbook.sheet_names)
        if sheet is not None:
            if sheet not in names:
                listed = ", ".join(f"« {n} »" for n in names)
                raise InputError(
                    f"La feuille « {sheet} » n'existe pas dans « {name} ».",
                    hint=f"Feuilles du classeur : {listed}.",
                )
            chosen = sheet
        else:
            worksheets = [
                m.name
                for m in workbook.sheets_metadata
                if m.typ == python_calamine.SheetTypeEnum.WorkSheet
            ]
            if not worksheets:
                raise InputError(f"Le classeur « {name} » ne contient aucune feuille de calcul.")
            chosen = worksheets[0]
        check_extent(data, name, chosen, limits)
        # skip_empty_area=False keeps row 1 as the first row, so indexes give Excel's numbers.
        values = workbook.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    except InputError:
        raise
    except BaseException as exc:
        # A damaged archive raises zipfile, zlib and EOF errors; calamine its own classes,
        # ValueError, or a Rust panic (PanicException, a BaseException).
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        raise InputError(
            f"Le classeur « {name} » n'a pas pu être lu (détail technique : {exc}).",
            hint=SAVE_AS_HINT,
        ) from None
    # Most cells are already text; converting only the others saves a call per cell.
    rows = [
        Row(index, [v if isinstance(v, str) else cell_text(v) for v in cells])
        for index, cells in enumerate(values, 1)
    ]
    return Table(
        rows=rows,
        detected={"format": "xlsx", "sheet": chosen},
        formulas=EmptyFormulas(data, chosen),
    )
