"""Matching rules: one test per rule, on generated certificates."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from certsync.findings import Code
from certsync.match import AdminDecision, Matcher, Method
from certsync.testkit.pki import make_leaf, rsa_key
from tests.helpers import (
    BREST_SIREN,
    BREST_SIRET,
    RENNES_SIRET,
    agent,
    certfile,
    leaf_for,
    sha,
)


def cn_only(pki, cn, *, siret=RENNES_SIRET, email=""):
    """A certificate whose subject has a CN but no GN/SN (older or foreign issuers)."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Commune"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"0002 {siret}"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return make_leaf(
        pki.chambersign_ca,
        x509.Name(attrs),
        key=rsa_key(2048, 0),
        not_before=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
    )


def codes(result, path):
    return [f.code for f in result.findings if f.file == path]


def only_match(result):
    assert len(result.matches) == 1, (result.matches, result.findings)
    return result.matches[0]


def test_email_in_certificate_matches_case_folded(pki):
    rows = [agent(2, "Anne", "MOREAU", "Anne.Moreau@Rennes.fr"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Anne", "MOREAU", san_email="anne.moreau@rennes.FR")
    result = Matcher(rows, file_refs={}).match([certfile("x.cer", cert)])
    m = only_match(result)
    assert (m.rows, m.method) == ((2,), Method.EMAIL)
    assert "nom identique" in m.describe()


def test_subject_email_address_attribute_is_a_signal(pki):
    rows = [agent(2, "Anne", "MOREAU", "anne.moreau@rennes.fr")]
    cert = leaf_for(pki.chambersign_ca, "Anne", "MOREAU", email="anne.moreau@rennes.fr")
    assert only_match(Matcher(rows, file_refs={}).match([certfile("x.cer", cert)])).rows == (2,)


@pytest.mark.parametrize(
    ("cn", "prenom", "nom"),
    [
        ("Jean-Marie LE GOFF", "Jean-Marie", "Le Goff"),
        ("LE GOFF Jean-Marie", "Jean-Marie", "Le Goff"),
        ("JEAN MARIE LEGOFF", "Jean-Marie", "LE GOFF"),
        ("Eloise LE GALL", "Éloïse", "Le Gall"),
        ("Cœur ÆRIN", "Coeur", "AERIN"),
        ("Yann D\u2019HERVÉ", "Yann", "D'Hervé"),
        ("Anne\u2011Sophie MOREAU", "Anne-Sophie", "Moreau"),
    ],
)
def test_name_variants_match_exactly(pki, cn, prenom, nom):
    rows = [agent(2, prenom, nom), agent(3, "Paul", "DURAND")]
    cert = cn_only(pki, cn)
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert m.rows == (2,)
    assert m.method is Method.NAME_ORG


def test_usage_name_matches_married_surname(pki):
    rows = [agent(2, "Françoise", "DUPONT épouse MARTIN")]
    cert = leaf_for(pki.chambersign_ca, "Françoise", "MARTIN")
    assert only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])).rows == (2,)


def test_full_name_column_matches_either_order(pki):
    rows = [agent(2, "", "", "tanguy@x.fr", full_name="TANGUY Marc")]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    assert only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])).rows == (2,)


def test_organisation_separates_namesakes(pki):
    rows = [
        agent(2, "Marc", "TANGUY", "m1@x.fr"),
        agent(3, "Marc", "TANGUY", "m2@y.fr", siren=BREST_SIREN),
    ]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY", siret=BREST_SIRET)
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((3,), Method.NAME_ORG)


def test_namesake_in_another_organisation_is_held_naming_both(pki):
    rows = [agent(2, "Marc", "TANGUY", siren=BREST_SIREN, organisation="Mairie de Brest")]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")  # Rennes SIRET
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_OTHER_ORGANISATION]
    message, action = result.findings[0].message(), result.findings[0].action()
    assert RENNES_SIRET in message and "Mairie de Brest" in message
    assert "fichier de décisions" in action and sha(certfile("a.cer", cert)) in action
    assert result.held_rows == {2: "a.cer"}


def test_namesake_in_another_organisation_with_the_agents_email_is_attributed(pki):
    rows = [agent(2, "Marc", "TANGUY", "marc.tanguy@brest.fr", siren=BREST_SIREN)]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY", san_email="marc.tanguy@brest.fr")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.EMAIL)


def test_name_without_any_organisation_to_compare_matches_weakly(pki):
    rows = [agent(2, "Marc", "TANGUY", siren="", organisation="")]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.NAME)
    assert "organisme non comparable" in m.describe()


def test_same_siren_other_siret_is_another_organisation(pki):
    from dataclasses import replace

    other_siret = RENNES_SIRET[:9] + "00027"
    rows = [replace(agent(2, "Marc", "TANGUY"), siret=other_siret)]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert codes(result, "a.cer") == [Code.MATCH_OTHER_ORGANISATION]


def test_homonyms_in_one_organisation_are_ambiguous(pki):
    rows = [agent(2, "Nathalie", "MARTIN", "n1@x.fr"), agent(3, "Nathalie", "MARTIN", "n2@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Nathalie", "MARTIN")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_AMBIGUOUS]
    assert result.held == {"a.cer"}
    assert set(result.held_rows) == {2, 3}


def test_one_person_under_two_addresses_is_ambiguous(pki):
    rows = [agent(2, "Marc", "TANGUY", "marc@a.fr"), agent(3, "Marc", "TANGUY", "marc@b.fr")]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    assert codes(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]), "a.cer") == [
        Code.MATCH_AMBIGUOUS
    ]


def test_fuzzy_typo_inside_organisation_with_score(pki):
    rows = [agent(2, "Guillaume", "LEFEBVRE", "g.l@rennes.fr"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Guillaume", "LEFEVBRE")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.FUZZY)
    assert m.score is not None and 92 <= m.score < 100
    assert "/100" in m.describe()


def test_fuzzy_never_crosses_organisations(pki):
    rows = [agent(2, "Guillaume", "LEFEBVRE", siren=BREST_SIREN)]
    cert = leaf_for(pki.chambersign_ca, "Guillaume", "LEFEVBRE")  # Rennes
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_ORPHAN_FILE]


def test_fuzzy_without_clear_lead_is_ambiguous(pki):
    rows = [
        agent(2, "Jean-Christophe", "LEFEBVRE", "a@x.fr"),
        agent(3, "Jean-Christophe", "LEFEVRE", "b@x.fr"),
    ]
    cert = leaf_for(pki.chambersign_ca, "Jean-Christophe", "LEFEBRE")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_AMBIGUOUS]


def test_fuzzy_review_zone_holds_with_the_candidate(pki):
    rows = [agent(2, "Jean", "LEFEBVRE"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Jean", "LEFEBVRR")  # 91.7: below 92
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_AMBIGUOUS]
    assert "Jean LEFEBVRE" in result.findings[0].message()


def test_compound_first_name_on_certificate_only(pki):
    rows = [agent(2, "Jean", "DUPONT-MOREAU", "jdm@x.fr"), agent(3, "Paul", "DUPONT-MOREAU")]
    cert = leaf_for(pki.chambersign_ca, "Jean-Pierre", "DUPONT-MOREAU")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.PARTIAL)


def test_initial_only_is_not_guessed(pki):
    rows = [agent(2, "Thomas", "DUBOIS"), agent(3, "Théo", "DUBOIS")]
    cert = leaf_for(pki.chambersign_ca, "T.", "DUBOIS")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []


def test_file_column_names_the_file_and_content_agrees(pki):
    rows = [agent(2, "Marc", "TANGUY", "a@x.fr"), agent(3, "Marc", "TANGUY", "b@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    result = Matcher(rows, file_refs={3: "m.cer"}).match([certfile("m.cer", cert)])
    m = only_match(result)
    assert (m.rows, m.method) == ((3,), Method.FILE_COLUMN)


def test_file_column_naming_someone_else_is_a_conflict(pki):
    rows = [agent(2, "Thomas", "DUBOIS"), agent(3, "Annick", "PERON")]
    cert = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    result = Matcher(rows, file_refs={3: "a.cer"}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_CONFLICT]
    message = result.findings[0].message()
    assert "Thomas DUBOIS" in message and "Annick PERON" in message


def test_file_column_naming_a_stranger_with_unknown_content_is_a_conflict(pki):
    rows = [agent(3, "Annick", "PERON")]
    cert = leaf_for(pki.chambersign_ca, "Bernard", "INCONNU")
    result = Matcher(rows, file_refs={3: "a.cer"}).match([certfile("a.cer", cert)])
    assert codes(result, "a.cer") == [Code.MATCH_CONFLICT]


def test_two_rows_naming_one_file_share_it(pki):
    rows = [agent(2, "Marc", "TANGUY", "a@x.fr"), agent(3, "Marc", "TANGUY", "b@y.fr")]
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    result = Matcher(rows, file_refs={2: "m.cer", 3: "m.cer"}).match([certfile("m.cer", cert)])
    assert only_match(result).rows == (2, 3)


def test_filename_email_resolves_homonyms(pki):
    rows = [agent(2, "Nathalie", "MARTIN", "n1@x.fr"), agent(3, "Nathalie", "MARTIN", "n2@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Nathalie", "MARTIN")
    result = Matcher(rows, file_refs={}).match([certfile("N2@x.fr.cer", cert)])
    m = only_match(result)
    assert (m.rows, m.method) == ((3,), Method.FILENAME_EMAIL)


def test_filename_email_of_another_agent_warns_when_content_is_strong(pki):
    rows = [agent(2, "Thomas", "DUBOIS", "t@x.fr"), agent(3, "Paul", "DURAND", "p@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    result = Matcher(rows, file_refs={}).match([certfile("p@x.fr.cer", cert)])
    m = only_match(result)
    assert (m.rows, m.method) == ((2,), Method.NAME_ORG)
    assert codes(result, "p@x.fr.cer") == [Code.MATCH_FILE_NAMES_OTHER_AGENT]


def test_filename_naming_another_agent_warns_when_content_is_strong(pki):
    rows = [agent(2, "Thomas", "DUBOIS"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    path = "PaulDURAND_Format_PEM.cer"
    result = Matcher(rows, file_refs={}).match([certfile(path, cert)])
    assert only_match(result).rows == (2,)
    assert "signalé" in only_match(result).describe()
    assert codes(result, path) == [Code.MATCH_FILE_NAMES_OTHER_AGENT]
    message = result.findings[0].message()
    assert "Paul DURAND" in message and "Thomas DUBOIS" in message


def test_filename_naming_another_agent_holds_a_weak_content_match(pki):
    rows = [agent(2, "Guillaume", "LEFEBVRE", "g.l@rennes.fr"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Guillaume", "LEFEVBRE")
    path = "PaulDURAND_Format_PEM.cer"
    result = Matcher(rows, file_refs={}).match([certfile(path, cert)])
    assert result.matches == []
    assert codes(result, path) == [Code.MATCH_CONFLICT]


def test_filename_is_never_stronger_than_content(pki):
    rows = [agent(2, "Thomas", "DUBOIS"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Bernard", "INCONNU")
    result = Matcher(rows, file_refs={}).match([certfile("Paul DURAND (1).cer", cert)])
    assert result.matches == []
    assert codes(result, "Paul DURAND (1).cer") == [Code.MATCH_ORPHAN_FILE]


def test_email_and_name_pointing_to_different_rows_conflict(pki):
    rows = [agent(2, "Anne", "MOREAU", "anne@x.fr"), agent(3, "Paul", "DURAND", "paul@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Paul", "DURAND", san_email="anne@x.fr")
    result = Matcher(rows, file_refs={}).match([certfile("c.cer", cert)])
    assert codes(result, "c.cer") == [Code.MATCH_EMAIL_NAME_MISMATCH]
    message = result.findings[0].message()
    assert "Anne MOREAU" in message and "Paul DURAND" in message


def test_orphan_file(pki):
    rows = [agent(2, "Thomas", "DUBOIS")]
    cert = leaf_for(pki.chambersign_ca, "Bernard", "INCONNU")
    result = Matcher(rows, file_refs={}).match([certfile("b.cer", cert)])
    assert codes(result, "b.cer") == [Code.MATCH_ORPHAN_FILE]
    assert result.findings[0].params["sha256"] == sha(certfile("b.cer", cert))


def test_decision_assigns_a_held_certificate(pki):
    rows = [agent(2, "Nathalie", "MARTIN", "n1@x.fr"), agent(3, "Nathalie", "MARTIN", "n2@x.fr")]
    cf = certfile("a.cer", leaf_for(pki.chambersign_ca, "Nathalie", "MARTIN"))
    decisions = {sha(cf): AdminDecision(sha(cf), ("n2@x.fr",))}
    result = Matcher(rows, file_refs={}, decisions=decisions).match([cf])
    m = only_match(result)
    assert (m.rows, m.method) == ((3,), Method.DECISION)
    assert codes(result, "a.cer") == [Code.MATCH_DECISION_APPLIED]


def test_decision_ignorer(pki):
    rows = [agent(2, "Thomas", "DUBOIS")]
    cf = certfile("a.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    decisions = {sha(cf): AdminDecision(sha(cf), (), ignore=True)}
    result = Matcher(rows, file_refs={}, decisions=decisions).match([cf])
    assert result.matches == [] and result.ignored == {"a.cer"}


def test_decision_for_unknown_email_is_reported_and_algorithm_applies(pki):
    rows = [agent(2, "Thomas", "DUBOIS")]
    cf = certfile("a.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    decisions = {sha(cf): AdminDecision(sha(cf), ("nobody@x.fr",), line=4)}
    result = Matcher(rows, file_refs={}, decisions=decisions).match([cf])
    assert Code.MATCH_DECISION_INVALID in codes(result, "a.cer")
    assert only_match(result).rows == (2,)


def test_refused_file_is_linked_to_its_agent_by_name(pki):
    from certsync.records import CertFile, FileFormat

    rows = [agent(2, "Loïc", "DERC'HEN"), agent(3, "Paul", "DURAND")]
    refused = CertFile("loic_derchen.pfx", 10, 0, FileFormat.PKCS12, None)
    result = Matcher(rows, file_refs={}).match([refused])
    assert result.refused_rows == {2: "loic_derchen.pfx"}


def test_an_email_spelling_its_own_row_is_no_evidence_for_a_longer_name(pki):
    rows = [agent(2, "Pierre-Yves", "LE PAPE"), agent(3, "Pierre", "LE PAPE", "pierre.lepape@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Pierre-Yves", "LE PAPE")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.NAME_ORG)


def test_exact_name_and_a_typo_row_whose_email_spells_it_are_a_tie(pki):
    rows = [
        agent(2, "Jade", "JEZEQUEL", "jade.jezequel@x.fr"),
        agent(3, "Jade", "JEZLQUEL", "jade.jezequel2@x.fr"),
    ]
    cert = leaf_for(pki.chambersign_ca, "Jade", "JEZEQUEL")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert codes(result, "a.cer") == [Code.MATCH_AMBIGUOUS]
    assert "nom écrit par son e-mail" in result.findings[0].message()


# -- the classes of issue 10 ----------------------------------------------------------------


def test_shared_mailbox_with_another_name_is_held_showing_both_names(pki):
    rows = [agent(2, "Soazig", "LE BRIS", "mairie@plouha.bzh"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Hervé", "KERGOAT", email="mairie@plouha.bzh")
    result = Matcher(rows, file_refs={}).match([certfile("m.cer", cert)])
    assert result.matches == []
    assert codes(result, "m.cer") == [Code.MATCH_EMAIL_NAME_MISMATCH]
    message = result.findings[0].message()
    assert "Hervé KERGOAT" in message and "Soazig LE BRIS" in message


def test_shared_mailbox_with_the_holders_name_is_attributed(pki):
    rows = [agent(2, "Soazig", "LE BRIS", "mairie@plouha.bzh")]
    cert = leaf_for(pki.chambersign_ca, "Soazig", "LE BRIS", email="mairie@plouha.bzh")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("m.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.EMAIL)


def test_given_name_and_surname_say_which_is_the_surname(pki):
    rows = [agent(2, "Bernard", "MARTIN")]  # roster MARTIN;Bernard
    cert = leaf_for(pki.chambersign_ca, "Martin", "BERNARD")  # another person
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_ORPHAN_FILE]


def test_a_bare_cn_is_read_in_both_orders(pki):
    rows = [agent(2, "Bernard", "MARTIN")]
    cert = cn_only(pki, "MARTIN Bernard")
    assert only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])).rows == (2,)


def test_bernard_martin_and_martin_bernard_are_told_apart(pki):
    rows = [agent(2, "Bernard", "MARTIN", "b1@x.fr"), agent(3, "Martin", "BERNARD", "b2@x.fr")]
    first = certfile("1.cer", leaf_for(pki.chambersign_ca, "Bernard", "MARTIN"))
    second = certfile("2.cer", leaf_for(pki.chambersign_ca, "Martin", "BERNARD", slot=1))
    result = Matcher(rows, file_refs={}).match([first, second])
    assert sorted((m.file, m.rows) for m in result.matches) == [("1.cer", (2,)), ("2.cer", (3,))]


@pytest.mark.parametrize(
    ("cert_nom", "roster_nom"),
    [
        ("LE GALL", "Le Gal"),
        ("GUILLOUX", "Guillou"),
        ("HENRY", "Henri"),
        ("LE GUERN", "Le Guen"),
        ("RIOUX", "Riou"),
    ],
)
def test_distinct_surname_one_letter_away_is_held_naming_the_candidate(pki, cert_nom, roster_nom):
    email = f"gwenaelle.{roster_nom.lower().replace(' ', '')}@lannion.bzh"
    rows = [agent(2, "Gwenaëlle", roster_nom, email), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Gwenaëlle", cert_nom)
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    [held] = result.findings
    assert held.code in (Code.MATCH_NEAR_NAME_CONTRADICTED, Code.MATCH_AMBIGUOUS)
    assert roster_nom in held.message() and result.held_rows == {2: "a.cer"}


@pytest.mark.parametrize(
    "email",
    [
        "jean-christophe.legal@x.fr",
        "jc.legal@x.fr",
        "j.legal2@x.fr",
        "legal.jean-christophe@x.fr",
        "legal@x.fr",
    ],
)
def test_near_surname_contradicted_by_the_roster_email(pki, email):
    rows = [agent(2, "Jean-Christophe", "Le Gal", email)]
    cert = leaf_for(pki.chambersign_ca, "Jean-Christophe", "LE GALL")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert codes(result, "a.cer") == [Code.MATCH_NEAR_NAME_CONTRADICTED]
    assert email in result.findings[0].message()


def test_near_surname_with_the_longer_name_in_the_roster_is_contradicted_too(pki):
    rows = [agent(2, "Jean-Christophe", "LE GALL", "jc.legall@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Jean-Christophe", "LE GAL")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert codes(result, "a.cer") == [Code.MATCH_NEAR_NAME_CONTRADICTED]


def test_birth_name_in_certificate_spelled_by_the_roster_email(pki):
    rows = [agent(2, "Anne", "MORVAN", "anne.legall@x.fr"), agent(3, "Anne", "LE GOFF")]
    cert = leaf_for(pki.chambersign_ca, "Anne", "LE GALL")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.EMAIL_LOCAL)


def test_birth_name_spelled_by_an_email_in_another_organisation_is_not_enough(pki):
    rows = [agent(2, "Anne", "MORVAN", "anne.legall@x.fr", siren=BREST_SIREN)]
    cert = leaf_for(pki.chambersign_ca, "Anne", "LE GALL")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []


def test_roster_typo_confirmed_by_its_own_email(pki):
    rows = [agent(2, "Yann", "GUILOU", "yann.guillou@x.fr"), agent(3, "Paul", "DURAND")]
    cert = leaf_for(pki.chambersign_ca, "Yann", "GUILLOU")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.EMAIL_LOCAL)


def test_near_name_in_organisation_with_an_exact_namesake_elsewhere_is_held(pki):
    rows = [
        agent(2, "Guillaume", "LEFEBVRE", "g.l@rennes.fr"),
        agent(3, "Guillaume", "LEFEVBRE", "g.l@brest.fr", siren=BREST_SIREN),
    ]
    cert = leaf_for(pki.chambersign_ca, "Guillaume", "LEFEVBRE")  # Rennes
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert result.matches == []
    assert codes(result, "a.cer") == [Code.MATCH_AMBIGUOUS]
    assert set(result.held_rows) == {2, 3}


def test_ambiguous_hold_names_the_evidence_of_each_candidate(pki):
    rows = [agent(2, "Nathalie", "MARTIN", "n1@x.fr"), agent(3, "Nathalie", "MARTIN", "n2@x.fr")]
    cert = leaf_for(pki.chambersign_ca, "Nathalie", "MARTIN")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    message = result.findings[0].message()
    assert message.count("nom identique, même organisme") == 2


def test_an_email_with_the_first_given_name_only_does_not_tie_with_an_exact_name(pki):
    rows = [
        agent(2, "Jean-Marie", "NEDELEC", "jean-marie.nedelec@x.fr"),
        agent(3, "Jean", "NEDELTC", "jean.nedelec@x.fr"),  # a typo in the roster
    ]
    cert = leaf_for(pki.chambersign_ca, "Jean-Marie", "NEDELEC")
    m = only_match(Matcher(rows, file_refs={}).match([certfile("a.cer", cert)]))
    assert (m.rows, m.method) == ((2,), Method.NAME_ORG)


def test_a_birth_name_spelled_with_an_initial_ties_with_the_exact_name(pki):
    rows = [
        agent(2, "Anne", "LE GALL", "anne.legall@x.fr"),
        agent(3, "Anne", "MORVAN", "a.legall@x.fr"),  # née LE GALL
    ]
    cert = leaf_for(pki.chambersign_ca, "Anne", "LE GALL")
    result = Matcher(rows, file_refs={}).match([certfile("a.cer", cert)])
    assert codes(result, "a.cer") == [Code.MATCH_AMBIGUOUS]
    assert set(result.held_rows) == {2, 3}
