"""XLSX formulas saved without a result: read as empty, and said so in the findings."""

from __future__ import annotations

import importlib

import xlsxwriter

from certsync.findings import Code
from certsync.roster import read_roster
from certsync.roster.formulas import column_index


def _openpyxl_workbook(path, rows, sheet="Feuil1", first=None):
    # openpyxl writes formulas with no cached value, as scripts and some exports do.
    openpyxl = importlib.import_module("openpyxl")
    workbook = openpyxl.Workbook()
    if first is not None:
        workbook.active.title = first
        workbook.active.append(["rien"])
        worksheet = workbook.create_sheet(sheet)
    else:
        worksheet = workbook.active
        worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    workbook.save(path)
    return path


HEADER = ["Nom", "Prénom", "Courriel", "SIRET"]


def test_formula_without_result_in_identifier_and_email(tmp_path):
    path = _openpyxl_workbook(
        tmp_path / "agents.xlsx",
        [
            ["Liste"],
            HEADER,
            ["Dupont", "Jean", '=B3&"@mairie.fr"', "21350238800019"],
            ["Martin", "Anne", "anne@mairie.fr", "=A1"],
            ["=C2", "Loïc", "loic@mairie.fr", ""],
        ],
    )
    roster = read_roster(path)
    assert [a.row for a in roster.agents] == [3, 4, 5]
    assert [(f.row, f.code, dict(f.params)) for f in roster.findings] == [
        (3, Code.ROSTER_ROW_INCOMPLETE, {"missing": "courriel (formule sans résultat en C3)"}),
        (
            4,
            Code.ROSTER_ID_INVALID,
            {
                "value": "formule en D4",
                "column": "SIRET",
                "reason": "le résultat de la formule n'a pas été enregistré dans le fichier",
            },
        ),
        (5, Code.ROSTER_ROW_INCOMPLETE, {"missing": "nom (formule sans résultat en A5)"}),
    ]
    assert roster.findings[0].message() == (
        "La ligne n'a pas de courriel (formule sans résultat en C3)."
    )


def test_formula_with_saved_result_is_just_a_value(tmp_path):
    path = tmp_path / "agents.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Agents")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ["Dupont", "Jean"])
    sheet.write_formula(1, 2, '=LOWER(B2)&"@mairie.fr"', None, "jean@mairie.fr")
    sheet.write_formula(1, 3, "=21350238800019", None, 21350238800019)
    workbook.close()
    roster = read_roster(path)
    assert (roster.agents[0].email, roster.agents[0].siret) == ("jean@mairie.fr", "21350238800019")
    assert roster.findings == ()


def test_formulas_looked_up_in_the_chosen_sheet(tmp_path):
    path = _openpyxl_workbook(
        tmp_path / "agents.xlsx",
        [HEADER, ["Dupont", "Jean", "=X1", ""]],
        sheet="Brest",
        first="Notes",
    )
    roster = read_roster(path, sheet="Brest")
    assert roster.findings[0].params["missing"] == "courriel (formule sans résultat en C2)"


def test_column_index():
    assert [column_index(c) for c in (b"A", b"Z", b"AA", b"AB", b"XFD")] == [0, 25, 26, 27, 16383]
