"""certsync onboarding: files the socle's importer accepts, that create the missing agents only."""

from __future__ import annotations

import copy
from pathlib import Path

import openpyxl
import pytest

from certsync.cli import main
from certsync.findings import Code
from certsync.onboarding import prepare
from certsync.sandbox import SandboxHandle
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER
from certsync.testkit.pki import SamplePKI
from tests.helpers import leaf_for
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

HEADER = "Prénom;Nom;Courriel;Collectivité;SIREN;Téléphone portable;Civilité\n"


def _roster(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "agents.csv"
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _state(sandbox: SandboxHandle) -> dict[str, tuple[str, str, str, dict[str, str]]]:
    with sandbox.store.lock:
        return {
            a.id: (a.email, a.prenom, a.nom, copy.deepcopy(a.extra))
            for a in sandbox.store.accounts.values()
        }


EXISTING = [
    member("Jean", "Dupont", "jean.dupont@rennes.fr"),
    member("Anne-Marie", "Le Goff", "am.legoff@rennes.fr", civility="MRS", elected="true"),
    member("Loïc", "Hervé", "loic.herve@rennes.fr", civility="", fax="0299000001"),
]


def test_the_file_creates_exactly_the_missing_agents_and_changes_or_deletes_no_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = _roster(
        tmp_path,
        [
            "Jean;Dupont;jean.dupont@rennes.fr;Commune de Rennes;213502388;;",
            "Iñaki;Muñoz;inaki.munoz@rennes.fr;Commune de Rennes;213502388;06 11 22 33 44;M.",
            "Élodie;Œuvrard;elodie.oeuvrard@rennes.fr;;213502388;+33 6 55 44 33 22;Mme",
            "Zoé;Martin;zoe.martin@rennes.fr;Commune de Rennes;;;",
            "Jo&hn;Smith;john.smith@rennes.fr;Commune de Rennes;;;",
        ],
    )
    with socle(EXISTING) as sandbox:
        rennes = org_id(sandbox, RENNES)
        export = export_csv(sandbox, tmp_path / "export_agent.csv")
        before = _state(sandbox)
        out = tmp_path / "out"
        code = main(
            ["onboarding", "--roster", str(roster), "--export", str(export), "--out", str(out)]
        )
        printed = capsys.readouterr().out
        assert code == 1  # John is left out: a blocking finding
        files = sorted(out.glob("import-*.csv"))
        assert [f.name for f in files] == [f"import-{rennes}-commune-de-rennes.csv"]
        data = files[0].read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        lines = data.decode("utf-8").splitlines()
        assert lines[0] == (
            "Civilité;Prénom;Nom;Elu;Fonction;Adresse;CodePostal;Ville;Courriel;"
            "TéléphonePortable;TéléphoneFixe;Fax"
        )
        assert "MRS;Anne-Marie;Le Goff;oui;" in lines[2]
        assert ";Inaki;Munoz;;;;;;inaki.munoz@rennes.fr;0611223344;;" in lines[4]
        assert lines[5].startswith("MRS;Elodie;OEuvrard;")
        assert "3 à créer, 3 dans l'import et sur myec3" in printed
        assert "0 à supprimer" in printed

        session = browser(sandbox.url)
        report = upload(session, sandbox.url, rennes, data)
        assert report.url.endswith(f"/organism/agent/export/report/{rennes}")
        assert report_counts(report) == {"create": 3, "modify": 3, "delete": 0}
        assert create_all(session, sandbox.url, rennes) == 3
        # Even "Tout modifier" writes back exactly what every existing agent had.
        press(session, sandbox.url, rennes, "modifylist", "updateAll")
        after = _state(sandbox)
        assert {k: v for k, v in after.items() if k in before} == before
        new = {v[0]: v for k, v in after.items() if k not in before}
        assert set(new) == {
            "inaki.munoz@rennes.fr",
            "elodie.oeuvrard@rennes.fr",
            "zoe.martin@rennes.fr",
        }
        assert new["inaki.munoz@rennes.fr"][3]["cellPhone"] == "0611223344"
        assert new["elodie.oeuvrard@rennes.fr"][3]["civility"] == "MRS"
        deletions = session.get(f"{sandbox.url}/organism/agent/export/deletelist/{rennes}")
        # Nothing to delete: DeleteList → Report.class (no organism persisted) → Import → Index.
        assert deletions.url == f"{sandbox.url}/" and "list_agents_form" not in deletions.text

    book = openpyxl.load_workbook(out / "onboarding.xlsx")
    preview = list(book["Aperçu du rapport"].iter_rows(values_only=True))
    name = f"import-{rennes}-commune-de-rennes.csv"
    assert preview[1][2:] == (name, 7, len(data), 3, 3, 0, 0)
    created = list(book["À créer"].iter_rows(values_only=True))[1:]
    assert [(r[1], r[2], r[3], r[4]) for r in created] == [
        (name, "3", "inaki.munoz@rennes.fr", "Inaki"),
        (name, "4", "elodie.oeuvrard@rennes.fr", "Elodie"),
        (name, "5", "zoe.martin@rennes.fr", "Zoé"),
    ]
    found = list(book["Constats"].iter_rows(values_only=True))[1:]
    by_code = {(r[1], r[4]) for r in found}
    assert (Code.ONBOARD_VALUE_ADAPTED, "inaki.munoz@rennes.fr") in by_code
    assert (Code.ONBOARD_VALUE_ADAPTED, "elodie.oeuvrard@rennes.fr") in by_code
    assert (Code.ONBOARD_VALUE_REFUSED, "john.smith@rennes.fr") in by_code
    john = next(r for r in found if r[1] == Code.ONBOARD_VALUE_REFUSED)
    assert "« & »" in john[6] and "à la main" in john[7]
    names = [r[6] for r in found if r[4] == "inaki.munoz@rennes.fr"]
    assert any("« Iñaki » est écrit « Inaki »" in n for n in names)
    assert any("« 06 11 22 33 44 » est écrit « 0611223344 »" in n for n in names)


def test_existing_agents_the_importer_refuses_are_named_and_the_file_still_imports(
    tmp_path: Path,
) -> None:
    members = [
        *EXISTING,
        member("ÉRIC", "Nuñez", "eric.nunez@rennes.fr"),
        member("Paul", "Sans", "paul.sans@rennes.fr", cellPhone="06 12 34 56 78"),
        member("Yves", "Adresse", "yves@rennes.fr", postalAddress="", city="", postalCode=""),
        member("Marc", "Brest", "marc@brest.fr", BREST),
    ]
    roster = _roster(tmp_path, ["Nina;Neuve;nina.neuve@rennes.fr;Commune de Rennes;;;"])
    with socle(members) as sandbox:
        export = export_csv(sandbox, tmp_path / "export_agent.csv")
        result = prepare(roster, [export], tmp_path / "out", organisation="213502388")
        (plan,) = result.plans
        assert {a.email for a in plan.left_out} == {"eric.nunez@rennes.fr", "paul.sans@rennes.fr"}
        assert [f.to_delete for f in plan.files] == [2]
        refused = [f for f in result.findings if f.code is Code.ONBOARD_EXISTING_REFUSED]
        assert {f.params["email"] for f in refused} == {
            "eric.nunez@rennes.fr",
            "paul.sans@rennes.fr",
        }
        assert all("Tout supprimer" in f.action() for f in refused)
        change = [f for f in result.findings if f.code is Code.ONBOARD_EXISTING_WOULD_CHANGE]
        assert {f.params["email"] for f in change} >= {"yves@rennes.fr"}

        session = browser(sandbox.url)
        rennes = org_id(sandbox, RENNES)
        report = upload(session, sandbox.url, rennes, plan.files[0].path.read_bytes())
        assert report_counts(report) == {"create": 1, "modify": 4, "delete": 2}
        listed = session.get(f"{sandbox.url}/organism/agent/export/deletelist/{rennes}")
        assert "eric.nunez@rennes.fr" in listed.text and "paul.sans@rennes.fr" in listed.text
        assert "marc@brest.fr" not in listed.text


def test_organisation_and_account_findings(tmp_path: Path) -> None:
    members = [
        *EXISTING,
        member("Marc", "Brest", "marc@brest.fr", BREST),
        member("Ancien", "Agent", "ancien@rennes.fr"),
    ]
    roster = _roster(
        tmp_path,
        [
            "Marc;Brest;marc@brest.fr;Commune de Rennes;213502388;;",
            "Ancien;Agent;ancien@rennes.fr;Commune de Rennes;;;",
            "Sans;Organisme;sans@ailleurs.fr;Mairie de Nulle Part;;;",
            "Paul;Portable;paul@rennes.fr;Commune de Rennes;;06 12 34;Monsieur",
        ],
    )
    with socle(members) as sandbox:
        rennes_id = org_id(sandbox, RENNES)
        export = export_csv(
            sandbox, tmp_path / "export_agent.csv", profile_disabled={"ancien@rennes.fr"}
        )
    result = prepare(roster, [export], tmp_path / "out")
    codes = {(f.code, f.params.get("email")) for f in result.findings}
    assert (Code.ONBOARD_OTHER_ORGANISATION, "marc@brest.fr") in codes
    assert (Code.ONBOARD_ACCOUNT_DISABLED, "ancien@rennes.fr") in codes
    assert (Code.ONBOARD_NO_ORGANISATION, "sans@ailleurs.fr") in codes
    assert (Code.ONBOARD_VALUE_DROPPED, "paul@rennes.fr") in codes
    rennes = next(p for p in result.plans if p.organisation.id == rennes_id)
    assert [n.agent.email for n in rennes.newcomers] == ["paul@rennes.fr"]
    assert rennes.on_socle == 3  # the disabled agent is not listed "à supprimer" by the socle
    text = rennes.files[0].path.read_text(encoding="utf-8")
    assert "ancien@rennes.fr" not in text and "MR;Paul;Portable;;;;;;paul@rennes.fr;;;" in text


def test_an_agent_disabled_with_desactiver_is_written_back_and_named(tmp_path: Path) -> None:
    """The real export keeps a user disabled by "Désactiver" (profile still enabled, name
    suffixed): it must stay in the file (else "à supprimer") and the roster agent is told."""
    members = [*EXISTING, member("Ancien", "Agent", "ancien@rennes.fr")]
    roster = _roster(tmp_path, ["Ancien;Agent;ancien@rennes.fr;Commune de Rennes;;;"])
    with socle(members) as sandbox:
        socle_app = app(sandbox)
        account = socle_app.store.by_email("ancien@rennes.fr")
        assert account is not None
        socle_app.disable(account.id)
        export = export_csv(sandbox, tmp_path / "export_agent.csv")
    result = prepare(roster, [export], tmp_path / "out")
    codes = {(f.code, f.params.get("email")) for f in result.findings}
    assert (Code.ONBOARD_ACCOUNT_DISABLED, "ancien@rennes.fr") in codes
    assert "ancien@rennes.fr" not in {n.agent.email for p in result.plans for n in p.newcomers}
    assert all(f.to_delete == 0 for p in result.plans for f in p.files)


def test_a_roster_without_separate_names_gets_a_finding_per_agent(tmp_path: Path) -> None:
    roster = tmp_path / "agents.csv"
    roster.write_text("Nom complet;Courriel\nJean Neuf;jean.neuf@rennes.fr\n", encoding="utf-8")
    with socle(EXISTING) as sandbox:
        export = export_csv(sandbox, tmp_path / "export_agent.csv")
    result = prepare(roster, [export], tmp_path / "out")
    missing = [f for f in result.findings if f.code is Code.ONBOARD_FIELD_MISSING]
    assert [f.params["column"] for f in missing] == ["Prénom", "Nom"]
    assert result.plans[0].files == ()


@pytest.mark.slow
def test_a_large_organisation_is_split_and_each_part_imports(tmp_path: Path) -> None:
    members = [member("Agent", "Numero", f"agent{i}@rennes.fr") for i in range(5200)]
    roster = _roster(tmp_path, ["Nina;Neuve;nina.neuve@rennes.fr;Commune de Rennes;;;"])
    with socle(members) as sandbox:
        export = export_csv(sandbox, tmp_path / "export_agent.csv")
        result = prepare(roster, [export], tmp_path / "out")
        files = result.plans[0].files
        assert [(f.records, f.existing, f.created) for f in files] == [
            (5000, 4999, 0),
            (203, 201, 1),
        ]
        assert [f.to_delete for f in files] == [201, 4999]
        split = [f for f in result.findings if f.code is Code.ONBOARD_FILE_SPLIT]
        assert len(split) == 2
        session = browser(sandbox.url)
        rennes = org_id(sandbox, RENNES)
        for f in files:
            report = upload(session, sandbox.url, rennes, f.path.read_bytes(), f.path.name)
            assert report_counts(report) == {
                "create": f.created,
                "modify": f.existing,
                "delete": f.to_delete,
            }


def test_unknown_organisation_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = _roster(tmp_path, ["Nina;Neuve;nina.neuve@rennes.fr;;;;"])
    with socle(EXISTING) as sandbox:
        rennes = org_id(sandbox, RENNES)
        export = export_csv(sandbox, tmp_path / "export_agent.csv")
    code = main(
        [
            "onboarding",
            "--roster",
            str(roster),
            "--export",
            str(export),
            "--organisation",
            "Quimper",
        ]
    )
    assert code == 2
    assert f"Commune de Rennes (n° {rennes})" in capsys.readouterr().err


def test_certsync_run_then_puts_the_certificates_on_the_new_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: SamplePKI
) -> None:
    roster = _roster(
        tmp_path,
        [
            "Iñaki;Muñoz;inaki.munoz@rennes.fr;Commune de Rennes;213502388;;",
            "Zoé;Martin;zoe.martin@rennes.fr;Commune de Rennes;213502388;;",
        ],
    )
    certs = tmp_path / "certificats"
    certs.mkdir()
    for prenom, nom, email in (
        ("Iñaki", "Muñoz", "inaki.munoz@rennes.fr"),
        ("Zoé", "Martin", "zoe.martin@rennes.fr"),
    ):
        issued = leaf_for(pki.chambersign_ca, prenom, nom, email=email, slot=len(email))
        (certs / f"{email}.cer").write_bytes(issued.pem)
    trust = tmp_path / "autorites.pem"
    trust.write_bytes(pki.trust_pem())
    monkeypatch.setenv("CERTSYNC_USER", DEMO_USER)
    monkeypatch.setenv("CERTSYNC_PASSWORD", DEMO_PASSWORD)
    monkeypatch.chdir(tmp_path)
    with socle(EXISTING) as sandbox:
        export = export_csv(sandbox, tmp_path / "export_agent.csv")
        result = prepare(roster, [export], tmp_path / "out")
        session = browser(sandbox.url)
        rennes = org_id(sandbox, RENNES)
        upload(session, sandbox.url, rennes, result.plans[0].files[0].path.read_bytes())
        assert create_all(session, sandbox.url, rennes) == 2
        code = main(
            [
                "run", "--roster", str(roster), "--certs", str(certs), "--trust", str(trust),
                "--as-of", "2026-03-02", "--url", sandbox.url, "--state", str(tmp_path / "s.db"),
                "--report-dir", str(tmp_path / "rapport"), "--quiet",
            ]
        )  # fmt: skip
        assert code == 0
        pushed = {str(a["email"]): a for a in sandbox.accounts()}
    for email in ("inaki.munoz@rennes.fr", "zoe.martin@rennes.fr"):
        assert pushed[email]["writes"] == 1 and pushed[email]["sha256"]
    assert all(pushed[a["email"]]["writes"] == 0 for a in EXISTING)


def test_each_organisation_gets_its_own_file_and_no_agent_lands_in_another_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = [*EXISTING, member("Marc", "Brest", "marc@brest.fr", BREST)]
    roster = _roster(
        tmp_path,
        [
            "Nina;Neuve;nina.neuve@rennes.fr;Commune de Rennes;;;",
            "Bruno;Neuf;bruno.neuf@brest.fr;;212900468;;",
            "Sans;Organisme;sans@rennes.fr;;;;",
        ],
    )
    with socle(members) as sandbox:
        ids = {o: org_id(sandbox, o) for o in (RENNES, BREST)}
        rennes = export_csv(sandbox, tmp_path / "rennes.csv", organism=RENNES)
        brest = export_csv(sandbox, tmp_path / "brest.csv", organism=BREST)
    alone = prepare(roster, [rennes], tmp_path / "alone")
    codes = {(f.code, f.params.get("email")) for f in alone.findings}
    assert (Code.ONBOARD_NO_ORGANISATION, "bruno.neuf@brest.fr") in codes
    assert [n.agent.email for n in alone.plans[0].newcomers] == [
        "nina.neuve@rennes.fr",
        "sans@rennes.fr",
    ]
    both = prepare(roster, [rennes, brest], tmp_path / "both")
    created = {p.organisation.id: [n.agent.email for n in p.newcomers] for p in both.plans}
    assert created == {ids[RENNES]: ["nina.neuve@rennes.fr"], ids[BREST]: ["bruno.neuf@brest.fr"]}
    assert (Code.ONBOARD_NO_ORGANISATION, "sans@rennes.fr") in {
        (f.code, f.params.get("email")) for f in both.findings
    }
    out = tmp_path / "one"
    args = ["onboarding", "--roster", str(roster), "--export", str(rennes), str(brest)]
    assert main([*args, "--organisation", "212900468", "--out", str(out)]) == 0
    assert [f.name for f in out.glob("*.csv")] == [f"import-{ids[BREST]}-ville-de-brest.csv"]
    printed = capsys.readouterr().out
    assert "1 agent d'autres organismes que celui demandé, ignoré." in printed
    brest_file = out / f"import-{ids[BREST]}-ville-de-brest.csv"
    assert "sans@rennes.fr" in brest_file.read_text(encoding="utf-8")


def test_url_downloads_each_managed_organisms_export_and_prepares_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--url`: the socle's own exports (per organism, through agent_export_form), read
    only; a functional administrator's organisms are found by the roster's SIRENs."""
    monkeypatch.setenv("CERTSYNC_USER", DEMO_USER)
    monkeypatch.setenv("CERTSYNC_PASSWORD", DEMO_PASSWORD)
    roster = _roster(
        tmp_path,
        [
            "Jean;Dupont;jean.dupont@rennes.fr;Commune de Rennes;213502388;;",
            "Zoé;Martin;zoe.martin@rennes.fr;Commune de Rennes;213502388;;",
            "Marc;Kerbrat;marc.kerbrat@brest.fr;Ville de Brest;212900468;;",
        ],
    )
    members = [*EXISTING, member("Yves", "Brest", "yves@brest.fr", BREST)]
    with socle(members) as sandbox:
        before = _state(sandbox)
        offline = export_csv(sandbox, tmp_path / "export_agent.csv")
        out = tmp_path / "out"
        code = main(
            ["onboarding", "--roster", str(roster), "--url", sandbox.url, "--out", str(out)]
        )
        printed = capsys.readouterr().out
        assert _state(sandbox) == before  # nothing written on the socle
    assert code == 0
    fetched = sorted((out / "exports").glob("export_agent-*.csv"))
    assert len(fetched) == 2  # Rennes and Brest, found by their SIRENs
    assert "Exports du socle enregistrés" in printed
    names = sorted(f.name for f in out.glob("import-*.csv"))
    assert len(names) == 2
    # Built from the downloaded exports exactly as from the export given by hand.
    by_hand = prepare(roster, [offline], tmp_path / "by-hand")
    assert sorted(p.name for p in (tmp_path / "by-hand").glob("import-*.csv")) == names
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / "by-hand" / name).read_bytes()
    assert {n.agent.email for p in by_hand.plans for n in p.newcomers} == {
        "zoe.martin@rennes.fr",
        "marc.kerbrat@brest.fr",
    }


def test_url_and_export_are_exclusive_and_one_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = _roster(tmp_path, ["Jean;Dupont;jean.dupont@rennes.fr;Commune de Rennes;;;"])
    assert main(["onboarding", "--roster", str(roster)]) == 2
    err = capsys.readouterr().err
    assert "donnez l'un de ces arguments : --export --url" in err
