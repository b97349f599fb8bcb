"""Writers of agent rosters (CSV, XLSX, the socle's export) for tests, samples and benchmarks."""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import xlsxwriter
from stdnum import luhn

#: Column names of a typical roster, as a collectivité's administrator writes them.
COLUMNS = ("Nom", "Prénom", "Courriel", "Collectivité", "SIREN", "SIRET", "Fichier")

#: The socle's export header (megalis-platform.md §5.2), with two applications' role columns.
SOCLE_HEADER_LINE = (
    "user_id;user_last_connection_date;user_mean_time_betweenTwoConnections;user_nbConnections;"
    "user_civility;user_firstname;user_lastname;user_username;user_connectionAttempts;profil_id;"
    "profil_externalId;profil_technicalIdentifier;profil_canton;profil_city;profil_country;"
    "profil_postalAddress;profil_postalCode;profil_cellPhone;profil_email;profil_enabled;"
    "profil_fax;profil_function;profil_grade;profil_phone;agent_profil_creation_date;"
    "agent_profil_elected;agent_profil_executive;agent_profil_representative;"
    "agent_profil_substitute;agent_profil_role_S2LOW;agent_profil_role_Pastell;"
    "organism_department_id;organism_department_label;organism_id;organism_label;"
    "organism_siren;organism_nic"
)
SOCLE_HEADER = tuple(SOCLE_HEADER_LINE.split(";"))

_ID_COLUMNS = ("SIREN", "SIRET")
_PRENOMS = ("Jean", "Éloïse", "Thomas", "Anne-Sophie", "Gaëlle", "François", "Zoé", "Loïc", "Cœur")
_NOMS = ("DUBOIS", "Le Gall", "MARTIN", "Dupont-Moreau", "Kerhervé", "de La Tour", "Derc'hen")
_COMMUNES = ("Rennes", "Brest", "Quimper", "Lorient", "Vannes", "Saint-Brieuc", "Plœmeur")

Rows = Sequence[Mapping[str, object]]


def siren_with_key(prefix: int) -> str:
    """A valid nine-digit SIREN whose first eight digits are `prefix` (zero-padded)."""
    body = f"{prefix:08d}"
    return body + luhn.calc_check_digit(body)


def siret_with_key(siren: str, establishment: int = 1) -> str:
    """A valid SIRET for `siren`: a four-digit establishment number, then the Luhn key."""
    body = f"{siren}{establishment:04d}"
    return body + luhn.calc_check_digit(body)


def sample_rows(count: int, *, seed: int = 0, organisations: int = 50) -> list[dict[str, str]]:
    """Plausible, distinct agents with French names, valid SIREN/SIRET and a file name each."""
    rng = random.Random(seed)
    orgs = []
    for number in range(organisations):
        # One SIREN in five starts with 0, which spreadsheets love to drop.
        siren = siren_with_key(
            rng.randrange(1_000_000, 10_000_000 if number % 5 == 0 else 99_999_999)
        )
        orgs.append((f"Mairie de {rng.choice(_COMMUNES)} {number}", siren, siret_with_key(siren)))
    rows = []
    for index in range(count):
        prenom, nom = rng.choice(_PRENOMS), rng.choice(_NOMS)
        organisation, siren, siret = orgs[index % organisations]
        local = _ascii(f"{prenom}.{nom}").lower().replace(" ", "").replace("'", "")
        rows.append(
            {
                "Nom": nom,
                "Prénom": prenom,
                "Courriel": f"{local}.{index}@mairie{index % organisations}.fr",
                "Collectivité": organisation,
                "SIREN": siren,
                "SIRET": siret,
                "Fichier": f"{prenom}{nom}_{index}.cer".replace(" ", ""),
            }
        )
    return rows


def _header(rows: Rows, columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def csv_text(
    rows: Rows,
    *,
    columns: Sequence[str] | None = None,
    separator: str = ";",
    title: Sequence[str] = (),
    quote_all: bool = False,
) -> str:
    """The roster as CSV text (CRLF line ends, like Excel), after optional title lines."""
    header = _header(rows, columns)
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=separator,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\r\n",
    )
    for line in title:
        writer.writerow([line] if line else [])
    writer.writerow(header)
    for row in rows:
        writer.writerow([_text(row.get(column, "")) for column in header])
    return out.getvalue()


def write_csv(
    path: Path,
    rows: Rows,
    *,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
    separator: str = ";",
    bom: bool = False,
    title: Sequence[str] = (),
    quote_all: bool = False,
) -> Path:
    """Write the roster as CSV; cp1252 is Excel's « CSV (séparateur : point-virgule) »."""
    text = csv_text(rows, columns=columns, separator=separator, title=title, quote_all=quote_all)
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_xlsx(
    path: Path,
    rows: Rows,
    *,
    columns: Sequence[str] | None = None,
    sheet: str = "Agents",
    title: str = "",
    ids_as_numbers: bool = False,
    extra_sheets: Iterable[tuple[str, Rows]] = (),
    extra_first: bool = False,
) -> Path:
    """Write the roster as an xlsx sheet, optionally under a title row and a blank row.

    With `ids_as_numbers`, SIREN/SIRET are numeric cells (what happens when a column is left in
    the "Standard" format): leading zeros are lost, as in real rosters.
    """
    # constant_memory keeps big benchmark rosters cheap; rows must then be written in order.
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_numbers": False}
    )
    sheets = [(sheet, rows, title)] + [(name, extra, "") for name, extra in extra_sheets]
    if extra_first:
        sheets = sheets[1:] + sheets[:1]
    for name, sheet_rows, sheet_title in sheets:
        worksheet = workbook.add_worksheet(name)
        header = _header(sheet_rows, columns)
        start = 0
        if sheet_title:
            worksheet.write_string(0, 0, sheet_title)
            start = 2  # a title, then a blank row, as administrators lay them out
        for col, name_ in enumerate(header):
            worksheet.write_string(start, col, name_)
        for offset, row in enumerate(sheet_rows, start + 1):
            for col, column in enumerate(header):
                value = row.get(column, "")
                if value is None or value == "":
                    continue
                text = _text(value)
                if ids_as_numbers and column in _ID_COLUMNS and text.isdigit():
                    worksheet.write_number(offset, col, int(text))
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    worksheet.write_number(offset, col, value)
                else:
                    worksheet.write_string(offset, col, text)
    workbook.close()
    return path


def write_socle_export(path: Path, rows: Rows) -> Path:
    """Write rows (French column names plus `Identifiant`, `profil_id`) as the socle's export.

    UTF-8 with BOM, `;`, every field quoted, as `export_agent.csv` is produced by OpenCSV.
    """
    records = []
    for number, row in enumerate(rows, 1):
        siret = _text(row.get("SIRET", ""))
        values = dict.fromkeys(SOCLE_HEADER, "")
        values |= {
            "user_id": str(1000 + number),
            "user_civility": "MR",
            "user_firstname": _text(row.get("Prénom", "")),
            "user_lastname": _text(row.get("Nom", "")),
            "user_username": _text(row.get("Identifiant", row.get("Courriel", ""))),
            "user_connectionAttempts": "0",
            "profil_id": _text(row.get("profil_id", str(5000 + number))),
            "profil_email": _text(row.get("Courriel", "")),
            "profil_enabled": "true",
            "organism_id": "42",
            "organism_label": _text(row.get("Collectivité", "")),
            "organism_siren": _text(row.get("SIREN", "")),
            "organism_nic": siret[9:] if len(siret) == 14 else "",
        }
        records.append(values)
    text = csv_text(records, columns=SOCLE_HEADER, quote_all=True)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


def _ascii(text: str) -> str:
    """What mail administrators do to names in addresses: accents and ligatures flattened."""
    text = text.replace("œ", "oe").replace("Œ", "Oe")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _text(value: object) -> str:
    return "" if value is None else str(value)
