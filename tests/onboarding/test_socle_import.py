"""The sandbox's importer behaves as the socle's source says, and agrees with our rules."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
import requests

from certsync.connectors.htmlform import parse_page
from certsync.onboarding import rules
from certsync.sandbox.socle import EXTRA_DEFAULTS
from certsync.sandbox.socle_import import CATALOGUE, MESSAGES, field_ok, properties_value
from tests.onboarding.kit import (
    BREST,
    RENNES,
    app,
    browser,
    create_all,
    export_csv,
    member,
    org_id,
    press,
    report_counts,
    socle,
    upload,
)

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
        url, rennes = sandbox.url, org_id(sandbox, RENNES)

        def errors(data: bytes, name: str = "import.csv", ctype: str = "text/csv") -> str:
            # Tapestry re-renders the page on a validation error: 200, the form, an alert.
            page = upload(session, url, rennes, data, name, ctype)
            assert page.status_code == 200 and 'id="agent_import_form"' in page.text
            assert "alert-danger" in page.text
            return page.text

        assert "titre des colonnes" in errors(("\ufeff" + MODEL + NEW).encode())
        assert "nombre de colonnes" in errors((MODEL.replace(";Fax", "") + NEW).encode())
        assert "extension .csv" in errors((MODEL + NEW).encode(), "import.CSV")
        assert "validation du fichier" in errors((MODEL + NEW).encode(), "import")
        assert "Seuls les fichier CSV" in errors((MODEL + NEW).encode(), "i.csv", "image/png")
        assert "au minimum 2 lignes" in errors(MODEL.encode())
        big = MODEL + NEW * 5000
        assert "plus de 5000 lignes" in errors(big.encode())
        huge = MODEL + ("MR;Nina;Neuve;non;" + "x" * 250 + ";;;;n@rennes.fr;;;\n") * 4100
        assert "excéder 1 Mo" in errors(huge.encode())
        assert "plus de 5000 lignes" not in errors(huge.encode())


def test_the_import_form_is_a_tapestry_form_behind_the_socle_session_and_rights() -> None:
    with socle(MEMBERS) as sandbox:
        socle_app = app(sandbox)
        rennes, brest = org_id(sandbox, RENNES), org_id(sandbox, BREST)
        anonymous = requests.get(f"{sandbox.url}/organism/agent/export/import/{rennes}")
        assert "kc-form-login" in anonymous.text  # the SSO first, as for every page
        session = browser(sandbox.url)
        bare = session.post(
            f"{sandbox.url}/organism/agent/export/import.agent_import_form",
            data={"t:ac": rennes},
            files={"uploadedFile": ("import.csv", (MODEL + NEW).encode(), "text/csv")},
        )
        assert bare.status_code == 500 and "t:formdata" in bare.text
        opened = session.get(f"{sandbox.url}/organism/agent/export/import/{rennes}")
        form = parse_page(opened.text).form("agent_import_form")
        assert form is not None
        empty = session.post(f"{sandbox.url}{form.action}", data=dict(form.fields))
        assert MESSAGES["file-required"] in empty.text
        # An organism administrator of Brest is sent to Index from Rennes' importer.
        socle_app.add_organism_admin("admin@brest.fr", "secret-brest", brest)
        brest_admin = browser(sandbox.url, "admin@brest.fr", "secret-brest")
        refused = brest_admin.get(f"{sandbox.url}/organism/agent/export/import/{rennes}")
        assert refused.url == f"{sandbox.url}/" and 'id="agent_import_form"' not in refused.text
        assert report_counts(upload(brest_admin, sandbox.url, brest, (MODEL + NEW).encode()))
        # An organism whose coordinates were never filled in cannot import (Import.java).
        bare_org = socle_app.add_organisation("Sans Adresse", "200000001", ("", "", ""))
        page = upload(session, sandbox.url, bare_org, (MODEL + NEW).encode())
        assert html.escape(MESSAGES["address"]) in page.text


def test_one_bad_line_fails_the_whole_file_and_a_lowercase_civility_breaks_the_report() -> None:
    with socle(MEMBERS) as sandbox:
        session = browser(sandbox.url)
        rennes = org_id(sandbox, RENNES)
        bad = MODEL + NEW + "MR;Iñaki;Muñoz;non;;;;;inaki@rennes.fr;;;\n"
        page = upload(session, sandbox.url, rennes, bad.encode())
        assert "comporte 2 erreur(s)" in page.text and "ligne 2" in page.text
        assert CATALOGUE["user-import-column-regex-message-nom"] in page.text
        assert report_counts(page) == {}
        lower = MODEL + NEW.replace("MR;", "mr;")
        page = upload(session, sandbox.url, rennes, lower.encode())
        assert page.url == f"{sandbox.url}/"  # Civility.valueOf("mr") throws: back to Index


def test_imported_agents_are_ordinary_socle_agents_the_socle_pages_can_edit(
    tmp_path: Path,
) -> None:
    with socle(MEMBERS) as sandbox:
        session = browser(sandbox.url)
        rennes = org_id(sandbox, RENNES)
        line = "MRS;Nina;Neuve;oui;Juriste;;;;nina.neuve@rennes.fr;0611223344;;\n"
        rows = MODEL + line + "MR;Jean;Dupont;non;Secrétaire de mairie;1 rue de la Paix;35000;"
        rows += "Rennes;jean.dupont@rennes.fr;0612345678;0299000000;\n"
        page = upload(session, sandbox.url, rennes, rows.encode())
        assert report_counts(page) == {"create": 1, "modify": 1, "delete": 1}
        assert create_all(session, sandbox.url, rennes) == 1
        with sandbox.store.lock:
            nina = sandbox.store.by_email("nina.neuve@rennes.fr")
            assert nina is not None
            extra = dict(nina.extra)
        assert set(extra) == set(EXTRA_DEFAULTS)
        org = app(sandbox).organisations[rennes]
        assert (extra["organism"], extra["organismDepartment"]) == (rennes, org["root"])
        assert (extra["user_enabled"], extra["profil_enabled"]) == ("true", "true")
        assert (extra["civility"], extra["elected"], extra["username"]) == (
            "MRS",
            "true",
            "nina.neuve@rennes.fr",
        )
        # No address in the file: the organism's (Create.setAddressOfAgentToCreate).
        assert (extra["postalAddress"], extra["postalCode"], extra["city"]) == RENNES.address
        modify = session.get(f"{sandbox.url}/organism/agent/modify/{nina.id}")
        assert 'id="modification_form"' in modify.text
        exported = export_csv(sandbox, tmp_path / "export.csv", organism=RENNES)
        assert "nina.neuve@rennes.fr" in exported.read_text(encoding="utf-8")


def test_a_file_of_only_the_new_agents_puts_everybody_else_up_for_deletion(
    tmp_path: Path,
) -> None:
    with socle(MEMBERS) as sandbox:
        session = browser(sandbox.url)
        rennes = org_id(sandbox, RENNES)
        page = upload(session, sandbox.url, rennes, (MODEL + NEW).encode())
        assert report_counts(page) == {"create": 1, "modify": 0, "delete": 2}
        with sandbox.store.lock:
            ids = {a.email: a.id for a in sandbox.store.accounts.values()}
        listed = session.get(f"{sandbox.url}/organism/agent/export/deletelist/{rennes}")
        form = parse_page(listed.text).form("list_agents_form")
        assert form is not None
        # Nothing ticked and not "Tout supprimer": DeleteList.onValidate refuses.
        nothing = session.post(f"{sandbox.url}{form.action}", data=dict(form.fields))
        assert MESSAGES["empty-selected"] in nothing.text
        press(session, sandbox.url, rennes, "deletelist", "deleteAll")
        with sandbox.store.lock:
            gone = {i: sandbox.store.accounts[i] for i in ids.values()}
            states = {
                (
                    a.email.startswith("erased-"),
                    a.extra["username"] == a.email,
                    a.extra["user_enabled"],
                    a.extra["profil_enabled"],
                )
                for a in gone.values()
            }
        # A soft delete: the profiles stay, disabled, their e-mail and username erased.
        assert states == {(True, True, "false", "false")}
        export = export_csv(sandbox, tmp_path / "after.csv", organism=RENNES)
        assert export.read_text(encoding="utf-8").count("\n") == 1  # the header alone


def test_ticked_rows_only_are_deleted() -> None:
    with socle([*MEMBERS, member("Paul", "Morvan", "paul.morvan@rennes.fr")]) as sandbox:
        session = browser(sandbox.url)
        rennes = org_id(sandbox, RENNES)
        upload(session, sandbox.url, rennes, (MODEL + NEW).encode())
        listed = session.get(f"{sandbox.url}/organism/agent/export/deletelist/{rennes}")
        form = parse_page(listed.text).form("list_agents_form")
        assert form is not None and "slaveCheckbox_0" in listed.text
        ticked = dict(form.fields) | {"slaveCheckbox_0": "on", "submit_0": "x"}
        answer = session.post(f"{sandbox.url}{form.action}", data=ticked)
        assert answer.url.endswith(f"/deletelist/{rennes}")
        with sandbox.store.lock:
            left = sorted(
                a.email
                for a in sandbox.store.accounts.values()
                if a.extra["profil_enabled"] == "true"
            )
        assert left == ["jean.dupont@rennes.fr", "paul.morvan@rennes.fr"]
