"""Deciding in exceptions.xlsx: the drop-down, the import's checks, and the run that applies it.

End to end: a dry run holds a certificate, the test fills one cell with openpyxl, the import
accepts it, and the next run pushes it (real sandbox) to the chosen agent and to no one else.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import openpyxl
import pytest

from certsync import cli
from certsync.errors import ExitCode
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import SandboxCredentials
from certsync.testkit.rosters import write_csv
from tests.commands.test_cron import ENV
from tests.helpers import BREST_SIRET, RENNES_SIREN, leaf_for, write_pem

TWINS = ("yann.morvan@ville.fr", "yann.morvan2@ville.fr")
OTHERS = ("thomas.dubois@ville.fr",)


class Desk:
    """Two homonyms and one certificate for « Yann MORVAN », a normal agent, an orphan."""

    def __init__(self, tmp: Path, pki, url: str | None) -> None:
        self.tmp, self.pki, self.url = tmp, pki, url
        self.certs = tmp / "depot"
        self.trust = tmp / "trust.pem"
        self.trust.write_bytes(pki.trust_pem())
        rows = [
            {"Nom": "MORVAN", "Prénom": "Yann", "Courriel": TWINS[0], "SIREN": RENNES_SIREN},
            {"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": OTHERS[0], "SIREN": RENNES_SIREN},
            {"Nom": "MORVAN", "Prénom": "Yann", "Courriel": TWINS[1], "SIREN": RENNES_SIREN},
        ]
        self.roster = write_csv(tmp / "agents.csv", rows)
        self.held = leaf_for(pki.chambersign_ca, "Yann", "MORVAN", slot=1)
        write_pem(self.certs, "morvan.cer", self.held)
        write_pem(self.certs, "dubois.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
        write_pem(self.certs, "inconnu.cer", leaf_for(pki.chambersign_ca, "Anne", "INCONNUE"))
        self.state = str(tmp / "state.sqlite")

    @property
    def held_sha(self) -> str:
        return hashlib.sha256(self.held.der).hexdigest()

    def run(self, report: str, *extra: str) -> int:
        url = ["--url", self.url] if self.url else []
        return cli.main([
            "run", "--roster", str(self.roster), "--certs", str(self.certs),
            "--trust", str(self.trust), "--as-of", "2026-03-01", "--state", self.state,
            "--report-dir", str(self.tmp / report), "--quiet", *url, *extra,
        ])  # fmt: skip

    def report(self, name: str) -> dict:
        return json.loads((self.tmp / name / "report.json").read_text(encoding="utf-8"))


def _decision_rows(sheet) -> dict[str, int]:
    """Code → sheet row, for the rows that carry a decision cell."""
    header = [c.value for c in sheet[1]]
    code, decision = header.index("Code") + 1, header.index("Décision") + 1
    return {
        sheet.cell(r, code).value: r
        for r in range(2, sheet.max_row + 1)
        if sheet.cell(r, decision).fill.fgColor.rgb == "FFE2EFDA"
    }


def _fill(path: Path, cells: dict[str, str]) -> dict[str, int]:
    book = openpyxl.load_workbook(path)
    sheet = book["Constats"]
    rows = _decision_rows(sheet)
    for code, value in cells.items():
        sheet[f"K{rows[code]}"] = value
    book.save(path)
    return rows


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    accounts = [
        {"email": e, "nom": "MORVAN" if e in TWINS else "DUBOIS", "prenom": "Yann"}
        for e in (*TWINS, *OTHERS)
    ]
    handle = start_sandbox("socle", accounts=accounts, credentials=SandboxCredentials())
    try:
        yield handle
    finally:
        handle.stop()


@pytest.mark.slow
def test_held_certificate_decided_in_the_workbook_goes_to_that_agent_only(
    tmp_path, pki, sandbox, capsys
):
    desk = Desk(tmp_path, pki, sandbox.url)
    assert desk.run("r1", "--dry-run") == ExitCode.FINDINGS
    path = tmp_path / "r1" / "exceptions.xlsx"

    sheet = openpyxl.load_workbook(path)["Constats"]
    rows = _decision_rows(sheet)
    assert set(rows) == {"MATCH_AMBIGUOUS", "MATCH_ORPHAN_FILE"}
    assert sheet["K1"].value == "Décision"
    by_cell = {
        str(ref): dv for dv in sheet.data_validations.dataValidation for ref in dv.sqref.ranges
    }
    ambiguous = by_cell[f"K{rows['MATCH_AMBIGUOUS']}"]
    assert ambiguous.type == "list" and ambiguous.formula1 == f'"{TWINS[0]},{TWINS[1]},ignorer"'
    assert not ambiguous.showErrorMessage  # any roster e-mail may be typed in
    assert ambiguous.showInputMessage and "ignorer" in ambiguous.prompt
    assert by_cell[f"K{rows['MATCH_ORPHAN_FILE']}"].formula1 == '"ignorer"'
    assert sheet[f"J{rows['MATCH_AMBIGUOUS']}"].value == desk.held_sha

    _fill(path, {"MATCH_AMBIGUOUS": TWINS[1], "MATCH_ORPHAN_FILE": "inconnue@ailleurs.fr"})
    capsys.readouterr()
    code = cli.main(["decisions", "import", str(path), "--state", desk.state])
    out = capsys.readouterr().out
    assert code == ExitCode.FINDINGS  # one cell refused
    assert (
        f"exceptions.xlsx, ligne {rows['MATCH_AMBIGUOUS']} (« morvan.cer ») : acceptée — "
        f"« Yann MORVAN » ira à {TWINS[1]}." in out
    )
    assert (
        f"ligne {rows['MATCH_ORPHAN_FILE']} (« inconnu.cer ») : refusée — « inconnue@ailleurs.fr » "
        "n'est pas dans la liste des agents" in out
    )
    assert "1 décision enregistrée, 1 refusée" in out

    capsys.readouterr()
    assert cli.main(["decisions", "list", "--state", desk.state, "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert [(d["sha256"], d["email"]) for d in kept] == [(desk.held_sha, TWINS[1])]
    assert kept[0]["source"] == f"exceptions.xlsx, ligne {rows['MATCH_AMBIGUOUS']}"

    assert desk.run("r2") == ExitCode.OK
    writes = {str(a["email"]): int(a["writes"]) for a in sandbox.accounts()}
    assert writes == {TWINS[0]: 0, TWINS[1]: 1, OTHERS[0]: 1}
    on_account = {str(a["email"]): a["sha256"] for a in sandbox.accounts()}
    assert on_account[TWINS[1]] == desk.held_sha
    agents = {a["email"]: a for a in desk.report("r2")["agents"]}
    assert agents[TWINS[1]]["status"] == "pushed"
    assert agents[TWINS[0]]["status"] == "no_certificate"
    constats = openpyxl.load_workbook(tmp_path / "r2" / "exceptions.xlsx")["Constats"]
    messages = [row[7] for row in constats.iter_rows(min_row=2, values_only=True)]
    assert any(
        m.startswith("Attribution fixée par la décision enregistrée (exceptions.xlsx, ligne")
        for m in messages
    )

    # A third run applies it again (nothing to write), and removal gives the old behaviour.
    assert desk.run("r3") == ExitCode.OK
    assert {str(a["email"]): int(a["writes"]) for a in sandbox.accounts()}[TWINS[1]] == 1
    assert cli.main(["decisions", "remove", desk.held_sha, "--state", desk.state]) == 0
    capsys.readouterr()
    assert cli.main(["decisions", "list", "--state", desk.state]) == 0
    assert capsys.readouterr().out.strip() == "Aucune décision enregistrée."
    assert desk.run("r4", "--dry-run") == ExitCode.FINDINGS


def test_run_with_the_workbook_as_decisions_imports_then_applies(tmp_path, pki, capsys):
    desk = Desk(tmp_path, pki, None)
    assert desk.run("r1", "--dry-run") == ExitCode.FINDINGS
    path = tmp_path / "r1" / "exceptions.xlsx"
    _fill(path, {"MATCH_AMBIGUOUS": TWINS[0].upper(), "MATCH_ORPHAN_FILE": "Ignorer"})
    capsys.readouterr()
    assert desk.run("r2", "--dry-run", "--decisions", str(path)) == ExitCode.OK
    out = capsys.readouterr().out
    assert f"ira à {TWINS[0]}." in out and "ne sera jamais utilisé (ignorer)" in out
    agents = {a["email"]: a["status"] for a in desk.report("r2")["agents"]}
    assert agents == {TWINS[0]: "would_push", TWINS[1]: "no_certificate", OTHERS[0]: "would_push"}
    files = {f["file"]: f["status"] for f in desk.report("r2")["files"]}
    assert files["inconnu.cer"] != "orphan"
    # Later runs apply the kept decisions without being given the workbook again.
    assert desk.run("r3", "--dry-run") == ExitCode.OK


def test_import_refuses_a_replaced_file_a_wrong_row_and_conflicting_cells(tmp_path, pki, capsys):
    desk = Desk(tmp_path, pki, None)
    assert desk.run("r1", "--dry-run") == ExitCode.FINDINGS
    path = tmp_path / "r1" / "exceptions.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Constats"]
    rows = _decision_rows(sheet)
    other = next(r for r in range(2, sheet.max_row + 1) if r not in rows.values())
    sheet[f"K{other}"] = TWINS[0]  # a finding that waits for no decision
    sheet[f"K{rows['MATCH_AMBIGUOUS']}"] = f"{TWINS[0]}; {TWINS[1]}"  # a shared certificate
    sheet[f"K{rows['MATCH_ORPHAN_FILE']}"] = TWINS[0]
    book.save(path)
    write_pem(desk.certs, "inconnu.cer", leaf_for(pki.chambersign_ca, "Anne", "AUTRE", slot=2))
    capsys.readouterr()
    assert cli.main(["decisions", "import", str(path), "--state", desk.state]) == 1
    out = capsys.readouterr().out
    assert f"ligne {other} " in out and "n'attend pas de décision" in out
    assert "ne contient plus le certificat de cette empreinte" in out
    assert f"ira à {TWINS[0]}, {TWINS[1]} : certificat partagé entre ces comptes." in out
    assert "1 décision enregistrée, 2 refusées" in out


def test_import_of_something_that_is_not_a_report(tmp_path, capsys):
    bogus = tmp_path / "liste.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Agents"
    book.save(bogus)
    code = cli.main(["decisions", "import", str(bogus), "--state", str(tmp_path / "s.sqlite")])
    assert code == ExitCode.INPUT
    err = capsys.readouterr().err
    assert "la feuille « Constats » est absente" in err and "exceptions.xlsx" in err
    code = cli.main(["decisions", "remove", "ab" * 32, "--state", str(tmp_path / "s.sqlite")])
    assert code == ExitCode.USAGE
    assert "Aucune décision enregistrée pour l'empreinte" in capsys.readouterr().err


def test_a_kept_decision_for_an_agent_gone_from_the_roster_says_how_to_remove_it(
    tmp_path, pki, capsys
):
    desk = Desk(tmp_path, pki, None)
    assert desk.run("r1", "--dry-run") == ExitCode.FINDINGS
    path = tmp_path / "r1" / "exceptions.xlsx"
    rows = _fill(path, {"MATCH_AMBIGUOUS": TWINS[1]})
    assert cli.main(["decisions", "import", str(path), "--state", desk.state]) == 0
    write_csv(desk.roster, [{"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": OTHERS[0]}])
    assert desk.run("r2", "--dry-run") == ExitCode.OK
    constats = openpyxl.load_workbook(tmp_path / "r2" / "exceptions.xlsx")["Constats"]
    (invalid,) = [
        r
        for r in constats.iter_rows(min_row=2, values_only=True)
        if r[4] == "MATCH_DECISION_INVALID"
    ]
    assert invalid[7].startswith(
        f"La décision enregistrée (exceptions.xlsx, ligne {rows['MATCH_AMBIGUOUS']}, le "
    )
    assert f"certsync decisions remove {desk.held_sha}" in invalid[8]


def test_import_needs_the_roster_and_the_folder_and_refuses_a_path_outside(tmp_path, pki, capsys):
    desk = Desk(tmp_path, pki, None)
    assert desk.run("r1", "--dry-run") == ExitCode.FINDINGS
    path = tmp_path / "r1" / "exceptions.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Constats"]
    row = _decision_rows(sheet)["MATCH_AMBIGUOUS"]
    sheet[f"B{row}"] = "../agents.csv"
    sheet[f"K{row}"] = TWINS[0]
    book.save(path)
    state = ["--state", desk.state]
    capsys.readouterr()
    assert cli.main(["decisions", "import", str(path), *state]) == ExitCode.FINDINGS
    assert "il sort du dossier des certificats" in capsys.readouterr().out
    desk.certs.rename(tmp_path / "ailleurs")
    assert cli.main(["decisions", "import", str(path), *state]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "Dossier des certificats du rapport" in err and "--certs" in err
    desk.roster.unlink()
    assert cli.main(["decisions", "import", str(path), *state]) == ExitCode.USAGE
    assert "Liste des agents du rapport" in capsys.readouterr().err


def test_a_namesake_in_another_organisation_is_decided_in_the_workbook(tmp_path, pki, capsys):
    """MATCH_OTHER_ORGANISATION holds the certificate; its drop-down names the roster agent,
    and choosing it confirms the move for every later run."""

    certs = tmp_path / "depot"
    trust = tmp_path / "trust.pem"
    trust.write_bytes(pki.trust_pem())
    email = "anne.lebris@ville.fr"
    roster = write_csv(
        tmp_path / "agents.csv",
        [{"Nom": "LE BRIS", "Prénom": "Anne", "Courriel": email, "SIREN": RENNES_SIREN}],
    )
    write_pem(certs, "anne.cer", leaf_for(pki.chambersign_ca, "Anne", "LE BRIS", siret=BREST_SIRET))
    state = str(tmp_path / "state.sqlite")

    def dry_run(report: str) -> dict:
        cli.main([
            "run", "--roster", str(roster), "--certs", str(certs), "--trust", str(trust),
            "--as-of", "2026-03-01", "--state", state, "--report-dir", str(tmp_path / report),
            "--quiet", "--dry-run",
        ])  # fmt: skip
        return json.loads((tmp_path / report / "report.json").read_text(encoding="utf-8"))

    first = dry_run("r1")
    assert first["agents"][0]["status"] == "no_certificate"
    path = tmp_path / "r1" / "exceptions.xlsx"
    sheet = openpyxl.load_workbook(path)["Constats"]
    rows = _decision_rows(sheet)
    assert "MATCH_OTHER_ORGANISATION" in rows
    by_cell = {
        str(ref): dv for dv in sheet.data_validations.dataValidation for ref in dv.sqref.ranges
    }
    assert by_cell[f"K{rows['MATCH_OTHER_ORGANISATION']}"].formula1 == f'"{email},ignorer"'

    _fill(path, {"MATCH_OTHER_ORGANISATION": email})
    assert cli.main(["decisions", "import", str(path), "--state", state]) == 0
    assert dry_run("r2")["agents"][0]["status"] == "would_push"
