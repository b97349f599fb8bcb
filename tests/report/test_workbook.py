"""exceptions.xlsx as an administrator reads it: order, the « Agents » sheet, links, the
summary's coloured general warnings and chart, widths sized to content (read with openpyxl)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from certsync import cli
from certsync.report.rows import AGENT_COLUMNS
from certsync.testkit.rosters import write_csv
from tests.helpers import RENNES_SIREN, leaf_for, write_pem

ROSTER = [
    ("Anne", "LE BRIS", "anne.lebris@ville.fr"),
    ("Yann", "MORVAN", "yann.morvan@ville.fr"),
    ("Thomas", "DUBOIS", "thomas.dubois@ville.fr"),
    ("Yann", "MORVAN", "yann.morvan2@ville.fr"),
    ("Zoé", "PRIGENT", "zoe.prigent@ville.fr"),
]


@pytest.fixture(scope="module")
def book(tmp_path_factory, pki):
    tmp: Path = tmp_path_factory.mktemp("workbook")
    certs = tmp / "depot"
    rows = [{"Nom": n, "Prénom": p, "Courriel": e, "SIREN": RENNES_SIREN} for p, n, e in ROSTER]
    roster = write_csv(tmp / "agents.csv", rows)
    expired = leaf_for(
        pki.chambersign_ca, "Anne", "LE BRIS", not_before=dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    )
    write_pem(certs, "anne.cer", expired)
    write_pem(certs, "morvan.cer", leaf_for(pki.chambersign_ca, "Yann", "MORVAN", slot=1))
    thomas = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS", slot=2)
    (certs / "thomas-avec-chaine.pem").write_bytes(thomas.pem + pki.chambersign_ca.pem)
    (certs / "zoe.prigent@ville.fr.cer").write_bytes(b"ceci n'est pas un certificat\n" * 3)
    write_pem(certs, "inconnu.cer", leaf_for(pki.chambersign_ca, "Inès", "INCONNUE", slot=3))
    trust = tmp / "trust.pem"
    trust.write_bytes(pki.trust_pem())
    decisions = tmp / "decisions.csv"
    decisions.write_text("empreinte;courriel\nzzzz;anne.lebris@ville.fr\n", encoding="utf-8")
    code = cli.main([
        "run", "--roster", str(roster), "--certs", str(certs), "--trust", str(trust),
        "--dry-run", "--as-of", "2026-03-01", "--report-dir", str(tmp / "r"),
        "--decisions", str(decisions), "--state", str(tmp / "s.sqlite"), "--quiet",
    ])  # fmt: skip
    assert code == 1
    return openpyxl.load_workbook(tmp / "r" / "exceptions.xlsx")


def _table(sheet) -> list[dict[str, object]]:
    header = [c.value for c in sheet[1]]
    return [
        dict(zip(header, row, strict=False)) for row in sheet.iter_rows(min_row=2, values_only=True)
    ]


def test_findings_blocking_first_then_warnings_then_information_each_in_roster_order(book):
    findings = _table(book["Constats"])
    ranks = {"bloquant": 0, "avertissement": 1, "information": 2}
    severities = [ranks[str(f["Gravité"])] for f in findings]
    assert severities == sorted(severities) and set(severities) == {0, 1, 2}
    for rank in (0, 1, 2):
        lines = [f["Ligne"] for f in findings if ranks[str(f["Gravité"])] == rank]
        numbered = [n for n in lines if isinstance(n, int)]
        assert numbered == sorted(numbered)
    blocking = [(f["Ligne"], f["Code"]) for f in findings if f["Gravité"] == "bloquant"]
    assert blocking[0] == (2, "CERT_EXPIRED")
    warnings = [f["Ligne"] for f in findings if f["Code"] == "MATCH_NO_CERTIFICATE"]
    assert warnings == [3, 5, 6]
    # The chain note of Thomas's file sits at his row among the information lines.
    info = [(f["Ligne"], f["Fichier"]) for f in findings if f["Gravité"] == "information"]
    assert (None, "thomas-avec-chaine.pem") in info


def test_agent_finding_links_to_the_files_own_row(book):
    sheet = book["Constats"]
    rows = _table(sheet)
    own = {(r["Fichier"], r["Code"]): i for i, r in enumerate(rows, start=2) if r["Ligne"] is None}
    for i, r in enumerate(rows, start=2):
        if r["Code"] != "MATCH_NO_CERTIFICATE":
            continue
        link = sheet[f"I{i}"].hyperlink
        assert link is not None, r
        expected = (
            own[("zoe.prigent@ville.fr.cer", "FILE_NOT_A_CERTIFICATE")]
            if r["Ligne"] == 6
            else own[("morvan.cer", "MATCH_AMBIGUOUS")]
        )
        assert link.location == f"'Constats'!A{expected}"
        assert sheet[f"I{i}"].font.u == "single"


def test_agents_sheet_lists_every_row_with_status_match_expiry_and_links(book):
    sheet = book["Agents"]
    assert [c.value for c in sheet[1]] == list(AGENT_COLUMNS)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:J6"
    agents = _table(sheet)
    assert [a["E-mail"] for a in agents] == [e for _p, _n, e in ROSTER]
    assert [a["Ligne"] for a in agents] == [2, 3, 4, 5, 6]
    thomas = agents[2]
    assert thomas["Statut"] == "à déposer (simulation)"
    assert thomas["Fichier"] == "thomas-avec-chaine.pem" and thomas["Attribution"]
    assert thomas["Fin de validité"] == dt.datetime(2028, 5, 31)
    assert sheet["H4"].number_format == "mm-dd-yy"  # Excel's built-in short date
    assert agents[0]["Statut"] == "bloqué" and "CERT_EXPIRED" in str(agents[0]["Constats"])
    constats = _table(book["Constats"])
    first_of: dict[object, int] = {}
    for i, finding in enumerate(constats, start=2):
        first_of.setdefault(finding["Ligne"], i)
    for n, agent in enumerate(agents, start=2):
        assert agent["Voir"] == ("voir son constat" if agent["Ligne"] in first_of else None)
        if agent["Voir"]:
            assert sheet[f"J{n}"].hyperlink.location == f"'Constats'!A{first_of[agent['Ligne']]}"
    chain_row = next(
        i
        for i, c in enumerate(constats, start=2)
        if c["Fichier"] == "thomas-avec-chaine.pem" and c["Ligne"] is None
    )
    assert sheet["F4"].hyperlink.location == f"'Constats'!A{chain_row}"


def test_summary_colours_general_warnings_and_charts_statuses(book):
    sheet = book["Résumé"]
    labels = {r[0].value: r[0] for r in sheet.iter_rows(min_row=3, max_col=1) if r[0].value}
    general = labels["Constat général (avertissement)"]
    assert general.fill.fgColor.rgb == "FFFFE699"
    assert "Décision inapplicable" in str(sheet.cell(general.row, 2).value)
    assert labels["Constats (bloquant)"].fill.fgColor.rgb == "FFF8CBAD"
    table = {sheet[f"D{r}"].value: sheet[f"E{r}"].value for r in range(4, 10)}
    assert sheet["D3"].value == "Statut" and sum(table.values()) == len(ROSTER)
    assert table["bloqué"] == 1 and table["sans certificat"] == 3
    assert table["à déposer (simulation)"] == 1
    assert table["déposé"] == 0  # every status is listed: the chart's bars stay comparable
    (chart,) = sheet._charts
    assert chart.tagname == "barChart"
    assert chart.title.tx.rich.p[0].r[0].t == "Agents par statut"
    (series,) = chart.series
    assert series.val.numRef.f == "'Résumé'!$E$4:$E$10"  # seven statuses
    assert series.cat.strRef.f == "'Résumé'!$D$4:$D$10"


def test_columns_are_sized_to_their_content(book):
    constats, agents = book["Constats"], book["Agents"]
    files = [c.value for c in constats["B"][1:] if c.value]
    assert constats.column_dimensions["B"].width == max(len(f) for f in files) + 2
    assert constats.column_dimensions["A"].width == len("Ligne") + 4
    assert constats.column_dimensions["H"].width == 70  # long messages wrap at 70
    assert constats.column_dimensions["J"].width == 66  # a SHA-256 shows whole
    emails = [e for _p, _n, e in ROSTER]
    assert agents.column_dimensions["C"].width == max(len(e) for e in emails) + 2
