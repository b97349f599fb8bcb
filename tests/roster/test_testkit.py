"""The roster writers of the test kit, checked through the reader."""

from __future__ import annotations

import pytest

from certsync.roster import read_roster
from certsync.testkit.rosters import (
    SOCLE_HEADER_LINE,
    sample_rows,
    write_csv,
    write_socle_export,
    write_xlsx,
)

ROWS = sample_rows(60, seed=3)


def _expected(rows):
    return [(r["Nom"], r["Prénom"], r["Courriel"], r["SIREN"], r["SIRET"]) for r in rows]


def _got(roster):
    return [(a.nom, a.prenom, a.email, a.siren, a.siret) for a in roster.agents]


def test_sample_rows_are_valid_and_some_sirens_start_with_zero():
    assert len({r["Courriel"] for r in ROWS}) == len(ROWS)
    assert any(r["SIREN"].startswith("0") for r in ROWS)


@pytest.mark.parametrize(
    ("encoding", "bom", "separator"),
    [("utf-8", False, ";"), ("utf-8", True, ","), ("cp1252", False, ";"), ("utf-8", False, "\t")],
)
def test_csv_round_trip(tmp_path, encoding, bom, separator):
    path = write_csv(
        tmp_path / "a.csv",
        ROWS,
        encoding=encoding,
        bom=bom,
        separator=separator,
        title=["Liste", ""],
    )
    roster = read_roster(path)
    assert _got(roster) == _expected(ROWS)
    assert roster.findings == ()
    assert roster.agents[0].row == 4


@pytest.mark.parametrize("ids_as_numbers", [False, True])
def test_xlsx_round_trip(tmp_path, ids_as_numbers):
    path = write_xlsx(tmp_path / "a.xlsx", ROWS, ids_as_numbers=ids_as_numbers, title="Liste")
    roster = read_roster(path)
    assert _got(roster) == _expected(ROWS)
    assert roster.findings == ()


def test_socle_export_exact_header(tmp_path):
    path = write_socle_export(tmp_path / "export_agent.csv", ROWS[:2])
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    first = data[3:].decode().split("\r\n")[0]
    assert first == ";".join(f'"{c}"' for c in SOCLE_HEADER_LINE.split(";"))


def test_socle_export_is_read_as_is(tmp_path):
    rows = [dict(r) for r in ROWS[:3]]
    rows[0]["profil_id"] = "12345"
    rows[1]["Identifiant"] = "anne.login@mairie.fr"
    rows[1]["Courriel"] = ""  # profil_email empty: the username is used
    path = write_socle_export(tmp_path / "export_agent.csv", rows)
    roster = read_roster(path)
    assert roster.detected["layout"] == "export du socle"
    assert roster.detected["encoding"] == "utf-8-sig"
    first, second, _ = roster.agents
    assert (first.prenom, first.nom, first.email, first.login) == (
        ROWS[0]["Prénom"],
        ROWS[0]["Nom"],
        ROWS[0]["Courriel"],
        ROWS[0]["Courriel"],
    )
    assert (first.organisation, first.siren, first.siret) == (
        ROWS[0]["Collectivité"],
        ROWS[0]["SIREN"],
        ROWS[0]["SIRET"],
    )
    assert first.profil_id == "12345"
    assert second.email == "anne.login@mairie.fr"
    assert roster.findings == ()
