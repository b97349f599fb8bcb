"""Row cleaning and row findings: identifiers, invisible characters, duplicates, e-mails."""

from __future__ import annotations

import pytest

from certsync.findings import Code, Severity
from certsync.testkit.rosters import siren_with_key, siret_with_key

from .conftest import flat

HEADER = "Nom;Prénom;Courriel;SIREN;SIRET\n"
SIREN_0 = siren_with_key(1234567)  # starts with 0
SIRET_0 = siret_with_key(SIREN_0)


def test_siren_leading_zero_kept_from_text(read_csv):
    roster = read_csv(HEADER + f"Dupont;Jean;j@mairie.fr;{SIREN_0};{SIRET_0}\n")
    assert SIREN_0.startswith("0")
    assert (roster.agents[0].siren, roster.agents[0].siret) == (SIREN_0, SIRET_0)
    assert roster.findings == ()


def test_siren_and_siret_that_lost_their_zero_are_padded(read_csv):
    roster = read_csv(HEADER + f"Dupont;Jean;j@mairie.fr;{SIREN_0[1:]};{SIRET_0[1:]}\n")
    assert (roster.agents[0].siren, roster.agents[0].siret) == (SIREN_0, SIRET_0)


@pytest.mark.parametrize("written", ["'213502388", "213 502 388", "\u00a0213\u202f502\u00a0388 "])
def test_siren_apostrophe_and_spaces_removed(read_csv, written):
    roster = read_csv(HEADER + f"Dupont;Jean;j@mairie.fr;{written};\n")
    assert roster.agents[0].siren == "213502388"


@pytest.mark.parametrize("written", ["2,135E+13", "2.135E+13", "2,13502E+13", "2.1E13"])
def test_scientific_notation_refused_row_kept(read_csv, written):
    roster = read_csv(HEADER + f'Dupont;Jean;j@mairie.fr;;"{written}"\n')
    agent = roster.agents[0]
    assert (agent.email, agent.siret, agent.siren) == ("j@mairie.fr", "", "")
    [found] = roster.findings
    assert found.code is Code.ROSTER_ID_INVALID and found.row == 2
    assert found.severity is Severity.WARNING
    assert found.params["column"] == "SIRET"
    assert "notation scientifique" in found.message()


@pytest.mark.parametrize(
    ("siren", "reason"),
    [("213502389", "clé de contrôle"), ("2135023", "7 chiffres"), ("21350238A", "chiffres")],
)
def test_bad_siren_is_a_warning_not_used(read_csv, siren, reason):
    roster = read_csv(HEADER + f"Dupont;Jean;j@mairie.fr;{siren};\n")
    assert roster.agents[0].siren == ""
    [found] = roster.findings
    assert found.code is Code.ROSTER_ID_INVALID
    assert reason in str(found.params["reason"])


def test_siren_derived_from_siret(read_csv):
    roster = read_csv(HEADER + "Dupont;Jean;j@mairie.fr;;21350238800019\n")
    assert roster.agents[0].siren == "213502388"


def test_la_poste_siret_exception_accepted(read_csv):
    roster = read_csv(HEADER + "Dupont;Jean;j@laposte.fr;;35600000049837\n")
    assert roster.agents[0].siret == "35600000049837"
    assert roster.findings == ()


@pytest.mark.parametrize("name", ["NA", "NULL", "N/A", "None", "nan", "#N/A"])
def test_placeholder_looking_names_are_names(read_csv, name):
    roster = read_csv(HEADER + f"{name};{name};j@mairie.fr;;\n")
    assert (roster.agents[0].nom, roster.agents[0].prenom) == (name, name)
    assert roster.findings == ()


def test_invisible_characters_removed(read_csv):
    line = "\u00a0Du\u200bpont\u202f;\ufeffJean\u2060 ;\u200bj@mairie.fr\u00a0;;\n"
    roster = read_csv(HEADER + line)
    agent = roster.agents[0]
    assert (agent.nom, agent.prenom, agent.email) == ("Dupont", "Jean", "j@mairie.fr")
    assert roster.findings == ()


def test_nfd_becomes_nfc(read_csv):
    roster = read_csv(HEADER + "Le\u0301vy;E\u0301loi\u0308se;e@mairie.fr;;\n")
    assert (roster.agents[0].nom, roster.agents[0].prenom) == ("Lévy", "Éloïse")


def test_duplicate_agent_case_folded_first_row_wins(read_csv):
    text = HEADER + "Dupont;Jean;Jean.Dupont@Mairie.fr;;\nMartin;Anne;a@mairie.fr;;\n"
    text += "Dupont;J.;jean.dupont@mairie.FR;;\n"
    roster = read_csv(text)
    assert [a.row for a in roster.agents] == [2, 3, 4]
    assert roster.agents[2].email == "jean.dupont@mairie.FR"
    [found] = roster.findings
    assert (found.code, found.row) == (Code.ROSTER_DUPLICATE_AGENT, 4)
    assert found.params == {"email": "jean.dupont@mairie.FR", "first_row": 2}


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("jean.dupont", "@"),
        ("jean dupont@mairie.fr", "espace"),
        ("jean..dupont@mairie.fr", "deux points"),
        ("jean@mairie", "extension"),
        ("jean@@mairie.fr", "@"),
    ],
)
def test_invalid_email(read_csv, email, reason):
    roster = read_csv(HEADER + f"Dupont;Jean;{email};;\n")
    [found] = roster.findings
    assert (found.code, found.row, found.params["email"]) == (Code.ROSTER_EMAIL_INVALID, 2, email)
    assert reason in str(found.params["reason"])


def test_inner_nbsp_in_email_reported_as_a_space(read_csv):
    roster = read_csv(HEADER + "Dupont;Jean;jean@mairie.fr\u00a0x;;\n")
    [found] = roster.findings
    assert found.params["email"] == "jean@mairie.fr x"
    assert found.code is Code.ROSTER_EMAIL_INVALID


def test_internationalised_email_accepted(read_csv):
    roster = read_csv(HEADER + "Dupont;Zoé;zoé@mairie-saint-étienne.fr;;\n")
    assert roster.findings == ()


@pytest.mark.parametrize(
    ("line", "missing"),
    [
        (";Jean;j@mairie.fr;;", "nom"),
        ("Dupont;;j@mairie.fr;;", "prénom"),
        ("Dupont;Jean;;;", "courriel"),
        (";;;213502388;", "nom, de prénom ni de courriel"),
    ],
)
def test_incomplete_row(read_csv, line, missing):
    roster = read_csv(HEADER + line + "\n")
    [found] = roster.findings
    assert (found.code, found.row, found.params["missing"]) == (
        Code.ROSTER_ROW_INCOMPLETE,
        2,
        missing,
    )
    assert found.message().startswith("La ligne n'a pas de ")
    assert len(roster.agents) == 1


def test_blank_rows_skipped_but_counted(read_csv):
    text = (
        HEADER + "Dupont;Jean;j@mairie.fr;;\n;;;;\n\u200b; ;\u00a0;;\n\nMartin;Anne;a@mairie.fr;;\n"
    )
    roster = read_csv(text)
    assert [a.row for a in roster.agents] == [2, 6]
    assert flat(roster.findings) == []
