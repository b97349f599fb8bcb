"""The sandbox's importer behaves as the socle's source says, and agrees with our rules."""

from __future__ import annotations

import pytest

from certsync.onboarding import rules
from certsync.sandbox.socle_import import CATALOGUE, field_ok, properties_value
from tests.onboarding.kit import RENNES, browser, member, press, report_counts, socle, upload

MODEL = (
    "Civilité;Prénom;Nom;Elu;Fonction;Adresse;CodePostal;Ville;Courriel;TéléphonePortable;"
    "TéléphoneFixe;Fax\n"
)
MEMBERS = [
    member("Jean", "Dupont", "jean.dupont@rennes.fr"),
    member("Anne", "Le Goff", "anne.legoff@rennes.fr"),
]
NEW = "MR;Nina;Neuve;non;;;;;nina.neuve@rennes.fr;;;\n"


def test_tapestry_drops_the_backslashes_of_the_name_pattern() -> None:
    raw = r"^[a-zA-Z\\'\-\s\ ,àáâäçèéêëìíîïòóôùúûü]{1,255}$"
    assert properties_value(raw) == "^[a-zA-Z\\'-s ,àáâäçèéêëìíîïòóôùúûü]{1,255}$"
    assert CATALOGUE["user-import-column-regex-courriel"].count("\\") == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("nom", "Le Goff"),
        ("nom", "O'Brien"),
        ("nom", "Jean-Marie"),
        ("nom", "Dupont 2"),  # digits are inside the range ' … s
        ("nom", "Élodie"),
        ("nom", "Muñoz"),
        ("nom", "Œuvrard"),
        ("nom", "Müller"),
        ("nom", "tab\there"),
        ("nom", "Smith & Co"),
        ("prenom", "x" * 255),
        ("prenom", "x" * 256),
        ("courriel", "agent@commune.bretagne"),
        ("courriel", "agent@commune"),
        ("courriel", "agent.é@commune.fr"),
        ("telephoneportable", "06 12 34 56 78"),
        ("telephoneportable", "0612345678"),
        ("codepostal", "35000"),
        ("codepostal", "3500"),
        ("civilite", "mrs"),
        ("civilite", " MR"),
        ("elu", "OUI"),
        ("fonction", "Chef\nde service"),
        ("ville", "Saint-Brieuc\u2028"),
    ],
)
def test_our_rules_and_the_sandbox_agree(key: str, value: str) -> None:
    assert rules.accepts(key, value) == field_ok(key, value)


def test_effective_patterns_refuse_what_the_issue_names() -> None:
    for name in ("Élodie", "Muñoz", "Œuvrard", "Æsa"):
        assert not rules.accepts("nom", name)
    assert rules.accepts("nom", "Hervé")
    assert not rules.accepts("telephonefixe", "02 99 00 00 00")
    assert rules.check_line(("mr", "A", "B", "", "", "", "", "", "a@b.fr", "", "", "")) == [
        ("civilite", rules.Problem.VALUE_OF)
    ]


def test_importer_refuses_bom_wrong_header_extension_size_and_line_count() -> None:
    with socle(MEMBERS) as sandbox:
        session = browser(sandbox.url)
        url = sandbox.url

        def errors(data: bytes, name: str = "import.csv") -> str:
            page = upload(session, url, RENNES, data, name)
            assert page.url.endswith(f"/import/{RENNES.id}")
            return page.text

        assert "titre des colonnes" in errors(("\ufeff" + MODEL + NEW).encode())
        assert "nombre de colonnes" in errors((MODEL.replace(";Fax", "") + NEW).encode())
        assert "extension .csv" in errors((MODEL + NEW).encode(), "import.CSV")
        assert "au minimum 2 lignes" in errors(MODEL.encode())
        big = MODEL + NEW * 5000
        assert "plus de 5000 lignes" in errors(big.encode())
        huge = MODEL + ("MR;Nina;Neuve;non;" + "x" * 250 + ";;;;n@rennes.fr;;;\n") * 4100
        assert "excéder 1 Mo" in errors(huge.encode())
        assert "plus de 5000 lignes" not in errors(huge.encode())


def test_one_bad_line_fails_the_whole_file_and_a_lowercase_civility_breaks_the_report() -> None:
    with socle(MEMBERS) as sandbox:
        session = browser(sandbox.url)
        bad = MODEL + NEW + "MR;Iñaki;Muñoz;non;;;;;inaki@rennes.fr;;;\n"
        page = upload(session, sandbox.url, RENNES, bad.encode())
        assert "comporte 2 erreur(s)" in page.text and "Ligne 2" in page.text
        assert report_counts(page) == {}
        lower = MODEL + NEW.replace("MR;", "mr;")
        page = upload(session, sandbox.url, RENNES, lower.encode())
        assert page.url == f"{sandbox.url}/"  # Civility.valueOf("mr") throws: back to Index


def test_a_file_of_only_the_new_agents_puts_everybody_else_up_for_deletion() -> None:
    with socle(MEMBERS) as sandbox:
        session = browser(sandbox.url)
        page = upload(session, sandbox.url, RENNES, (MODEL + NEW).encode())
        assert report_counts(page) == {"create": 1, "modify": 0, "delete": 2}
        press(session, sandbox.url, "deletelist", "deleteAll")
        with sandbox.store.lock:
            enabled = {a.email: a.extra["enabled"] for a in sandbox.store.accounts.values()}
        # A soft delete: the profiles stay, disabled.
        assert enabled == {"jean.dupont@rennes.fr": "false", "anne.legoff@rennes.fr": "false"}
