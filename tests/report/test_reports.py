"""Report writers on their own: the workbook stays readable and inert whatever the input."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from certsync.report.rows import COLUMNS, Row
from certsync.report.xlsxfile import column_letter, write_xlsx


def _row(n: int, text: str, severity: str = "bloquant") -> Row:
    return Row(n, f"f{n}.cer", text, "a@x.fr", "CODE", severity, "titre", text, "action", "ab" * 32)


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (9, "J"), (25, "Z"), (26, "AA"), (701, "ZZ")]
)
def test_column_letters(index, letters):
    assert column_letter(index) == letters


def test_workbook_reads_back_in_two_readers_with_hostile_text(tmp_path):
    hostile = [
        '=HYPERLINK("http://evil","x")',
        "+33 6 12 34 56 78",
        "@SUM(A1)",
        "<b>&amp;</b> \"quotes\" 'apos'",
        "contrôle\x01\x08\x0b caché",
        "ligne 1\nligne 2",
        "Œuvre — ÉLOÏSE ñ 漢字",
    ]
    rows = [_row(i + 2, text, sev) for i, (text, sev) in enumerate(
        zip(hostile, ["bloquant", "avertissement", "information"] * 3, strict=False)
    )]  # fmt: skip
    path = tmp_path / "x.xlsx"
    write_xlsx(path, [("Agents dans la liste", 7), ("Mode", "=1+1")], rows)
    assert zipfile.is_zipfile(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Résumé", "Constats"]
    sheet = book["Constats"]
    assert [c.value for c in sheet[1]] == [*COLUMNS, "Décision"]
    texts = [sheet.cell(row=r, column=3).value for r in range(2, len(hostile) + 2)]
    assert texts[0] == hostile[0] and texts[1] == hostile[1] and texts[2] == hostile[2]
    assert (
        texts[4] == "contrôle\ufffd\ufffd\ufffd caché"
    )  # XML cannot carry them; never a broken file
    assert texts[6] == hostile[6] and texts[5] == hostile[5]
    assert all(c.data_type in ("s", "n") for row in sheet.iter_rows() for c in row if c.value)
    assert sheet["A2"].value == 2 and sheet["A2"].data_type == "n"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:K{len(hostile) + 1}"
    assert sheet["F2"].fill.fgColor.rgb == "FFF8CBAD"  # blocking: orange
    assert sheet["F3"].fill.fgColor.rgb == "FFFFE699"  # warning: yellow
    summary = book["Résumé"]
    assert summary["B3"].value == 7 and summary["B4"].value == "=1+1"
    assert summary["B4"].data_type == "s"
    streamed = openpyxl.load_workbook(path, read_only=True)["Constats"]
    assert (streamed.max_row, streamed.max_column) == (len(hostile) + 1, 11)  # <dimension>
    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Constats").to_python()
    assert calamine[1][2] == hostile[0] and len(calamine) == len(hostile) + 1


def test_empty_findings_still_make_a_valid_workbook(tmp_path):
    path = tmp_path / "vide.xlsx"
    write_xlsx(path, [("Agents dans la liste", 0)], [])
    sheet = openpyxl.load_workbook(path)["Constats"]
    assert sheet.max_row == 1 and sheet.auto_filter.ref == "A1:K2"


def test_decision_drop_downs_share_one_validation_per_list_with_compact_ranges(tmp_path):
    orphan = ("MATCH_ORPHAN_FILE", "avertissement")
    rows = [
        Row(None, f"o{i}.cer", "X", "", *orphan, "t", "m", "a", "ab" * 32, ()) for i in range(3)
    ]
    rows.append(_row(9, "texte"))  # nothing to decide: no cell, no validation
    rows.append(Row(None, "h.cer", "Y", "", "MATCH_AMBIGUOUS", "bloquant", "t", "m", "a",
                    "cd" * 32, ("a@x.fr", "b@x.fr")))  # fmt: skip
    rows.append(Row(None, "o9.cer", "X", "", *orphan, "t", "m", "a", "ef" * 32, ()))
    path = tmp_path / "d.xlsx"
    write_xlsx(path, [], rows)
    sheet = openpyxl.load_workbook(path)["Constats"]
    found = {str(dv.sqref): dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert found == {"K2:K4 K7": '"ignorer"', "K6": '"a@x.fr,b@x.fr,ignorer"'}
    assert sheet["K5"].fill.fill_type is None and sheet["K2"].fill.fgColor.rgb == "FFE2EFDA"


def test_a_long_candidate_list_is_cut_to_what_excel_accepts(tmp_path):
    many = tuple(f"agent.numero.{i:03d}@commune-de-test.fr" for i in range(20))
    rows = [Row(None, "h.cer", "Y", "", "MATCH_AMBIGUOUS", "bloquant", "t", "m", "a", "cd" * 32,
                many)]  # fmt: skip
    path = tmp_path / "long.xlsx"
    write_xlsx(path, [], rows)
    (dv,) = openpyxl.load_workbook(path)["Constats"].data_validations.dataValidation
    options = dv.formula1.strip('"').split(",")
    assert len(dv.formula1) - 2 <= 255 and options[-1] == "ignorer"
    assert options[:-1] == list(many[: len(options) - 1]) and len(options) > 3
