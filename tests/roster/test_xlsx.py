"""XLSX rosters: sheets, Excel row numbers, numeric identifiers and the zip safety checks."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest

from certsync.config import Limits
from certsync.errors import InputError
from certsync.findings import Code
from certsync.roster import read_roster
from certsync.roster import xlsx as xlsx_module
from certsync.roster.xlsx import cell_text
from certsync.testkit.rosters import siren_with_key, siret_with_key, write_xlsx

SIREN_0 = siren_with_key(1234567)
SIRET_0 = siret_with_key(SIREN_0)
ROWS = [
    {"Nom": "Dupont", "Prénom": "Jean", "Courriel": "jean@mairie.fr", "SIREN": SIREN_0},
    {"Nom": "Le Gall", "Prénom": "Éloïse", "Courriel": "eloise@mairie.fr", "SIRET": SIRET_0},
]


def test_first_sheet_with_title_row_excel_row_numbers(tmp_path):
    path = write_xlsx(tmp_path / "agents.xlsx", ROWS, title="Liste des agents 2026")
    roster = read_roster(path)
    # Title in row 1, blank row 2, header row 3: data rows are Excel rows 4 and 5.
    assert [(a.row, a.nom) for a in roster.agents] == [(4, "Dupont"), (5, "Le Gall")]
    assert roster.detected["format"] == "xlsx"
    assert roster.detected["sheet"] == "Agents"
    assert roster.detected["header_row"] == "3"


def test_blank_rows_and_columns_before_data_keep_excel_numbers(tmp_path):
    import xlsxwriter

    path = tmp_path / "agents.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Feuil1")
    sheet.write_row(4, 2, ["Nom", "Prénom", "Courriel"])  # C5
    sheet.write_row(5, 2, ["Dupont", "Jean", "jean@mairie.fr"])
    sheet.write_row(8, 2, ["Martin", "Anne", "pas-une-adresse"])
    workbook.close()
    roster = read_roster(path)
    assert [a.row for a in roster.agents] == [6, 9]
    assert [(f.row, f.code) for f in roster.findings] == [(9, Code.ROSTER_EMAIL_INVALID)]
    assert "« Nom » (C)" in roster.detected["columns"]


def test_numeric_siren_siret_cells_are_padded(tmp_path):
    path = write_xlsx(tmp_path / "agents.xlsx", ROWS, ids_as_numbers=True)
    roster = read_roster(path)
    assert roster.agents[0].siren == SIREN_0
    assert (roster.agents[1].siret, roster.agents[1].siren) == (SIRET_0, SIREN_0)
    assert roster.findings == ()


def test_float_cells_lose_their_decimal_point():
    assert cell_text(21350238800019.0) == "21350238800019"
    assert cell_text(12345678.0) == "12345678"
    assert cell_text(1.5) == "1.5"
    assert cell_text(True) == "VRAI"


def test_sheet_option_chooses_the_sheet(tmp_path):
    other = [{"Nom": "Martin", "Prénom": "Anne", "Courriel": "anne@mairie.fr"}]
    path = write_xlsx(tmp_path / "agents.xlsx", ROWS, extra_sheets=[("Brest", other)])
    assert [a.nom for a in read_roster(path).agents] == ["Dupont", "Le Gall"]
    roster = read_roster(path, sheet="Brest")
    assert [a.nom for a in roster.agents] == ["Martin"]
    assert roster.detected["sheet"] == "Brest"


def test_missing_sheet_lists_sheet_names(tmp_path):
    path = write_xlsx(tmp_path / "agents.xlsx", ROWS, extra_sheets=[("Brest", ROWS)])
    with pytest.raises(InputError, match="« Quimper » n'existe pas") as caught:
        read_roster(path, sheet="Quimper")
    assert "« Agents », « Brest »" in caught.value.hint


def _rezip(source: Path, target: Path, extra: dict[str, bytes], content_types: bytes = b"") -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "[Content_Types].xml" and content_types:
                data = content_types
            new.writestr(item, data)
        for name, data in extra.items():
            new.writestr(name, data)
    return target


def test_xlsm_suffix_refused(tmp_path):
    path = write_xlsx(tmp_path / "agents.xlsm", ROWS)
    with pytest.raises(InputError, match="macros") as caught:
        read_roster(path)
    assert ".xlsx" in caught.value.hint


def test_macro_workbook_renamed_xlsx_refused(tmp_path):
    plain = write_xlsx(tmp_path / "plain.xlsx", ROWS)
    path = _rezip(plain, tmp_path / "agents.xlsx", {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"})
    with pytest.raises(InputError, match="macros"):
        read_roster(path)


def test_macro_content_type_refused(tmp_path):
    plain = write_xlsx(tmp_path / "plain.xlsx", ROWS)
    with zipfile.ZipFile(plain) as archive:
        types = archive.read("[Content_Types].xml").replace(
            b"sheet.main+xml", b"sheet.macroEnabled.main+xml"
        )
    path = _rezip(plain, tmp_path / "agents.xlsx", {}, content_types=types)
    with pytest.raises(InputError, match="macros"):
        read_roster(path)


def test_zip_bomb_refused_by_uncompressed_cap(tmp_path):
    plain = write_xlsx(tmp_path / "plain.xlsx", ROWS)
    # Two letters at random: compresses about 7:1, under the ratio guard, over the small cap.
    padding = bytes(random.Random(0).choices(b"ab", k=2_000_000))
    path = _rezip(plain, tmp_path / "agents.xlsx", {"xl/media/padding.bin": padding})
    assert path.stat().st_size < 1_000_000
    with pytest.raises(InputError, match="anormalement volumineux"):
        read_roster(path, limits=Limits(max_xlsx_uncompressed_bytes=1_000_000))
    assert len(read_roster(path).agents) == 2  # the default cap lets it through


def test_zip_bomb_refused_by_ratio(tmp_path, monkeypatch):
    plain = write_xlsx(tmp_path / "plain.xlsx", ROWS)
    path = _rezip(plain, tmp_path / "agents.xlsx", {"xl/media/padding.bin": b"\0" * 2_000_000})
    monkeypatch.setattr(xlsx_module, "MAX_RATIO", 50)
    with pytest.raises(InputError, match="taux de compression"):
        read_roster(path)


def test_too_many_members_refused(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "agents.xlsx", ROWS)
    monkeypatch.setattr(xlsx_module, "MAX_MEMBERS", 3)
    with pytest.raises(InputError, match="parties"):
        read_roster(path)


def test_non_zip_xlsx_refused(tmp_path):
    path = tmp_path / "agents.xlsx"
    path.write_text("Nom;Prénom;Courriel\nDupont;Jean;jean@mairie.fr\n")
    with pytest.raises(InputError, match=r"n'est pas un classeur \.xlsx valide"):
        read_roster(path)


def test_other_zip_refused(tmp_path):
    path = tmp_path / "agents.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match="archive zip d'un autre type"):
        read_roster(path)


def test_broken_workbook_is_an_input_error(tmp_path):
    plain = write_xlsx(tmp_path / "plain.xlsx", ROWS)
    path = tmp_path / "agents.xlsx"
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # truncated XML
            new.writestr(item, data)
    with pytest.raises(InputError):
        read_roster(path)


def test_xlsx_with_csv_suffix_is_read_as_xlsx(tmp_path):
    path = write_xlsx(tmp_path / "agents.csv", ROWS)
    assert read_roster(path).detected["format"] == "xlsx"


def test_defusedxml_guard_active():
    import importlib

    assert importlib.import_module("openpyxl").DEFUSEDXML is True
