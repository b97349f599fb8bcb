"""Safe runs: outputs checked before the platform is touched, URLs checked up front, the plan
shown before any push (real CLI, real sandbox on loopback, real SQLite state)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certsync import cli
from certsync.errors import ExitCode
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials
from certsync.testkit.rosters import write_csv
from tests.helpers import RENNES_SIREN, leaf_for, write_pem

DER = Encoding.DER
PEOPLE = [("Thomas", "DUBOIS"), ("Yann", "MORVAN"), ("Zoé", "PRIGENT"), ("Anne", "KERMARREC")]
ENV = {"CERTSYNC_USER": DEMO_USER, "CERTSYNC_PASSWORD": DEMO_PASSWORD}


def mail(prenom: str, nom: str) -> str:
    return f"{prenom}.{nom}".lower().replace("é", "e").replace(" ", "") + "@ville.fr"


class Site:
    """A roster, a certificate folder, a trust store and a sandbox holding the accounts."""

    def __init__(self, tmp: Path, pki, people=PEOPLE, latency_ms: int = 0) -> None:
        self.tmp, self.pki = tmp, pki
        self.certs = tmp / "depot"
        self.trust = tmp / "trust.pem"
        self.trust.write_bytes(pki.trust_pem())
        self.state = tmp / "state.sqlite"
        self.people = list(people)
        for i, (p, n) in enumerate(self.people):
            write_pem(self.certs, f"{p} {n}.cer", leaf_for(pki.chambersign_ca, p, n, slot=i % 4))
        self.roster = self.write_roster(self.people)
        accounts = [{"email": mail(p, n), "nom": n, "prenom": p} for p, n in self.people]
        self.sandbox = start_sandbox(
            "socle", accounts=accounts, credentials=SandboxCredentials(), latency_ms=latency_ms
        )

    def write_roster(self, people) -> Path:
        rows = [
            {"Nom": n, "Prénom": p, "Courriel": mail(p, n), "SIREN": RENNES_SIREN}
            for p, n in people
        ]
        return write_csv(self.tmp / "agents.csv", rows)

    def args(self, *extra: str | Path, url: str | None = None) -> list[str]:
        return [
            "run", "--roster", str(self.roster), "--certs", str(self.certs),
            "--trust", str(self.trust), "--url", url or self.sandbox.url,
            "--as-of", "2026-03-01", "--state", str(self.state), *map(str, extra),
        ]  # fmt: skip

    def writes(self) -> int:
        return sum(int(a["writes"]) for a in self.sandbox.accounts())  # type: ignore[call-overload]


@pytest.fixture
def site(tmp_path, pki, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    s = Site(tmp_path, pki)
    try:
        yield s
    finally:
        s.sandbox.stop()


# -- 1. every output is checked before the platform is touched --------------------------------


def test_unwritable_report_folder_stops_before_any_push(site, capsys):
    blocker = site.tmp / "pas-un-dossier"
    blocker.write_text("un fichier", encoding="utf-8")
    code = cli.main(site.args("--report-dir", blocker / "rapport"))
    err = capsys.readouterr().err
    assert code == ExitCode.STATE == 73
    assert "dossier du rapport" in err and str(blocker / "rapport") in err
    assert "Rien n'a été lu ni écrit sur la plateforme" in err and "--report-dir" in err
    assert "Traceback" not in err and "erreur interne" not in err
    assert site.writes() == 0
    assert site.sandbox.requests() == []  # not even a login


@pytest.mark.parametrize("option", ["--state", "status_file", "log_file"])
def test_unwritable_state_status_or_log_stops_with_73(site, capsys, option):
    blocker = site.tmp / "fichier"
    blocker.write_text("x", encoding="utf-8")
    extra: list[str | Path] = ["--report-dir", site.tmp / "r"]
    if option == "--state":
        args = [*site.args(*extra), "--state", str(blocker / "etat.sqlite")]
    else:
        config = site.tmp / "c.toml"
        config.write_text(f'{option} = "{blocker / "x"}"\n', encoding="utf-8")
        args = site.args(*extra, "--config", config)
    assert cli.main(args) == ExitCode.STATE
    err = capsys.readouterr().err
    assert str(blocker) in err and "Rien n'a été lu ni écrit" in err
    assert site.writes() == 0 and site.sandbox.requests() == []
    assert not (site.tmp / "r").exists()  # the report folder made by the check is removed


# -- 2. platform addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("megalis.bretagne.bzh", "https://megalis.bretagne.bzh"),
        ("ftp://megalis.bretagne.bzh", "protocole « ftp »"),
        ("https://", "nom de serveur"),
        ("https://megalis.bretagne.bzh:99999/", "port"),
        ("https://admin:secret@megalis.bretagne.bzh", "identifiant"),
        ("https://mega lis.bzh", "nom de serveur"),
    ],
)
def test_bad_url_is_a_usage_error_with_the_fix(site, capsys, url, expected):
    code = cli.main(site.args("--report-dir", site.tmp / "r", url=url))
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "Adresse de plateforme invalide (--url)" in err and expected in err
    assert "secret" not in err
    assert not (site.tmp / "r").exists()


def test_bad_url_in_configuration_is_a_configuration_error(site, capsys):
    config = site.tmp / "c.toml"
    config.write_text('[platform]\nurl = "megalis.bretagne.bzh"\n', encoding="utf-8")
    args = [a for a in site.args("--config", config) if a != site.sandbox.url]
    args.remove("--url")
    assert cli.main(args) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "[platform] url" in err and "https://megalis.bretagne.bzh" in err


# -- 3. the plan -----------------------------------------------------------------------------


def _cn(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return str(cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


@pytest.mark.slow
def test_dry_run_shows_the_plan_for_every_agent(site, capsys):
    pki = site.pki
    # First a real run puts a certificate on the first two accounts.
    (site.certs / "Zoé PRIGENT.cer").unlink()
    (site.certs / "Anne KERMARREC.cer").unlink()
    assert cli.main(site.args("--report-dir", "r0", "--quiet")) == ExitCode.OK
    before = site.writes()
    assert before == 2
    # Then: Thomas renews (replace), Yann keeps his (unchanged), Zoé sends a first one (add),
    # Anne sends an expired one (blocked), Paul has no account, Marie sent nothing.
    old_pem = (site.certs / "Thomas DUBOIS.cer").read_bytes()
    renewed = leaf_for(
        pki.chambersign_ca, "Thomas", "DUBOIS", slot=2,
        not_before=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )  # fmt: skip
    write_pem(site.certs, "Thomas DUBOIS.cer", renewed)
    write_pem(site.certs, "Zoé PRIGENT.cer", leaf_for(pki.chambersign_ca, "Zoé", "PRIGENT"))
    expired = leaf_for(
        pki.chambersign_ca, "Anne", "KERMARREC",
        not_before=dt.datetime(2022, 1, 1, tzinfo=dt.UTC), days=365,
    )  # fmt: skip
    write_pem(site.certs, "Anne KERMARREC.cer", expired)
    write_pem(site.certs, "Paul LE ROUX.cer", leaf_for(pki.certigna_ca, "Paul", "LE ROUX"))
    site.roster = site.write_roster([*PEOPLE, ("Paul", "LE ROUX"), ("Marie", "GUEGUEN")])
    capsys.readouterr()

    code = cli.main(site.args("--report-dir", "r1", "--dry-run"))
    out = capsys.readouterr().out
    assert code == ExitCode.FINDINGS
    assert site.writes() == before  # a dry run writes nothing
    report = json.loads((site.tmp / "r1" / "report.json").read_text(encoding="utf-8"))
    plan = {p["email"]: p for p in report["plan"]}
    thomas = plan[mail("Thomas", "DUBOIS")]
    assert thomas["action"] == "replace"
    old = x509.load_pem_x509_certificate(old_pem)
    assert thomas["current"]["name"] == _cn(old_pem)
    assert thomas["current"]["sha256"] == hashlib.sha256(old.public_bytes(DER)).hexdigest()
    assert thomas["current"]["not_after"].startswith(f"{old.not_valid_after_utc:%Y-%m-%d}")
    assert (
        thomas["new"]["sha256"]
        == hashlib.sha256(renewed.der).hexdigest()
        != thomas["current"]["sha256"]
    )
    assert plan[mail("Yann", "MORVAN")]["action"] == "unchanged"
    assert plan[mail("Zoé", "PRIGENT")]["action"] == "add"
    assert plan[mail("Zoé", "PRIGENT")]["current"] is None
    anne = plan[mail("Anne", "KERMARREC")]
    assert anne["action"] == "blocked" and "expiré" in anne["reason"]
    paul = plan[mail("Paul", "LE ROUX")]
    assert paul["action"] == "no_account", report["agents"]
    assert "--create-missing" in paul["reason"]
    assert plan[mail("Marie", "GUEGUEN")]["action"] == "no_certificate"
    statuses = {a["email"]: a["status"] for a in report["agents"]}
    assert statuses[mail("Paul", "LE ROUX")] == "no_account"  # not a failed push
    assert report["plan_totals"] == {
        "add": 1, "blocked": 1, "no_account": 1, "no_certificate": 1, "replace": 1, "unchanged": 1,
    }  # fmt: skip
    assert (
        "Plan : 1 premier certificat à ajouter, 1 certificat à remplacer, 1 compte déjà à jour, "
        "1 compte absent, 1 agent bloqué, 1 agent sans certificat"
    ) in out
    assert "compte absent : 1" in out and "échec du dépôt" not in out

    sheet = openpyxl.load_workbook(site.tmp / "r1" / "exceptions.xlsx")["Plan"]
    rows = {r[2]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    line = rows[mail("Thomas", "DUBOIS")]
    assert line[3] == "remplacer le certificat"
    assert line[5] == _cn(old_pem) and line[6] == f"{old.not_valid_after_utc:%d/%m/%Y}"
    assert line[10] == hashlib.sha256(renewed.der).hexdigest()
    assert rows[mail("Paul", "LE ROUX")][3] == "compte absent"

    capsys.readouterr()
    cli.main(site.args("--report-dir", "r2", "--dry-run", "--create-missing"))
    assert "1 compte à créer" in capsys.readouterr().out
    created = json.loads((site.tmp / "r2" / "report.json").read_text(encoding="utf-8"))
    assert {p["email"]: p["action"] for p in created["plan"]}[mail("Paul", "LE ROUX")] == "create"
    assert site.writes() == before


def test_help_subprocess_never_crashes_on_a_bad_url(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "certsync", "rollback", "x", "--url", "megalis.bretagne.bzh"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == ExitCode.USAGE
    assert "https://megalis.bretagne.bzh" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_plan_of_a_first_careful_run_with_only(site, capsys):
    first = mail(*PEOPLE[0])
    code = cli.main(site.args("--report-dir", "r1", "--only", first))
    assert code == ExitCode.OK
    assert site.writes() == 1
    report = json.loads((site.tmp / "r1" / "report.json").read_text(encoding="utf-8"))
    plan = {p["email"]: p for p in report["plan"]}
    assert plan[first]["action"] == "add"
    others = [plan[mail(p, n)] for p, n in PEOPLE[1:]]
    assert {p["action"] for p in others} == {"not_selected"}
    assert all("ajouter un premier certificat" in p["reason"] for p in others)
    out = capsys.readouterr().out
    assert "1 premier certificat à ajouter, 3 agents hors sélection" in out
