"""The command line: exit codes, French messages, no traceback, reports on disk."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pytest

from certsync import cli
from certsync.errors import ExitCode
from certsync.testkit.rosters import write_csv
from tests.helpers import leaf_for, write_pem

ROW = {"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": "t@x.fr", "SIREN": "213502388"}


@pytest.fixture
def inputs(tmp_path, pki):
    certs = tmp_path / "certs"
    write_pem(certs, "thomas.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    roster = write_csv(tmp_path / "agents.csv", [ROW])
    trust = tmp_path / "trust.pem"
    trust.write_bytes(pki.trust_pem())
    return tmp_path, roster, certs, trust


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own working folder (removed afterwards unless given)."""
    if cwd is not None:
        return subprocess.run(
            [sys.executable, "-m", "certsync", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            check=False,
        )
    with tempfile.TemporaryDirectory(prefix="certsync-cli-") as here:
        return run_cli(*args, cwd=Path(here))


def test_dry_run_ok_exit_0_and_reports(inputs):
    tmp, roster, certs, trust = inputs
    out = tmp / "rapport"
    proc = run_cli(
        "run", "--roster", roster, "--certs", certs, "--trust", trust, "--dry-run",
        "--as-of", "2026-03-01", "--report-dir", out,
    )  # fmt: skip
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "simulation" in proc.stdout and "Rapport" in proc.stdout
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["as_of"] == "2026-03-01" and report["dry_run"] is True
    assert report["agents"][0]["status"] == "would_push"
    assert sorted(p.name for p in out.iterdir()) == [
        "agents.csv",
        "exceptions.csv",
        "exceptions.xlsx",
        "report.json",
    ]
    agents = (out / "agents.csv").read_text(encoding="utf-8-sig").splitlines()
    assert agents[0].startswith("Ligne;Nom;Prénom;E-mail;Statut;Fichier;Attribution")
    assert agents[1].startswith("2;DUBOIS;Thomas;t@x.fr;à déposer (simulation);thomas.cer;nom")


def test_blocking_findings_exit_1(inputs, pki):
    tmp, roster, certs, trust = inputs
    (certs / "cle.pem").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    proc = run_cli(
        "run", "--roster", roster, "--certs", certs, "--trust", trust, "--dry-run",
        "--as-of", "2026-03-01", "--report-dir", tmp / "r",
    )  # fmt: skip
    assert proc.returncode == ExitCode.FINDINGS
    report = json.loads((tmp / "r" / "report.json").read_text(encoding="utf-8"))
    assert {"file": "cle.pem", "status": "rejected"}.items() <= report["files"][0].items()
    assert report["files"][0]["codes"] == ["FILE_PRIVATE_KEY"]


def test_missing_roster_exit_66_french_no_traceback(tmp_path):
    proc = run_cli("run", "--roster", tmp_path / "absent.xlsx", "--certs", tmp_path, "--dry-run")
    assert proc.returncode == ExitCode.INPUT
    assert "Liste des agents introuvable" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_certs_folder_exit_66(inputs):
    tmp, roster, _certs, _trust = inputs
    proc = run_cli("run", "--roster", roster, "--certs", tmp / "nulle-part", "--dry-run")
    assert proc.returncode == ExitCode.INPUT
    assert "dossier des certificats" in proc.stderr and "introuvable" in proc.stderr


def test_empty_certs_folder_exit_66(inputs):
    tmp, roster, _certs, _trust = inputs
    empty = tmp / "vide"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"x")
    proc = run_cli(
        "run", "--roster", roster, "--certs", empty, "--dry-run", "--report-dir", tmp / "r"
    )
    assert proc.returncode == ExitCode.INPUT
    assert "ne contient aucun fichier" in proc.stderr
    assert not (tmp / "r").exists()


def test_missing_required_column_exit_66_lists_columns(tmp_path, inputs):
    _tmp, _roster, certs, _trust = inputs
    roster = write_csv(tmp_path / "sans-mail.csv", [{"Nom": "DUBOIS", "Prénom": "Thomas"}])
    proc = run_cli(
        "run", "--roster", roster, "--certs", certs, "--dry-run", "--report-dir", tmp_path / "r"
    )
    assert proc.returncode == ExitCode.INPUT
    assert "Nom" in proc.stderr and "Courriel" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_bad_config_exit_78(inputs):
    tmp, roster, certs, _trust = inputs
    config = tmp / "certsync.toml"
    config.write_text("[policy]\nexpires_soon_days = 'trente'\n", encoding="utf-8")
    proc = run_cli("run", "--roster", roster, "--certs", certs, "--dry-run", "--config", config)
    assert proc.returncode == ExitCode.CONFIG
    assert "expires_soon_days" in proc.stderr


def test_unknown_config_key_exit_78(inputs):
    tmp, roster, certs, _trust = inputs
    config = tmp / "certsync.toml"
    config.write_text("trusted = 'x.pem'\n", encoding="utf-8")
    proc = run_cli("run", "--roster", roster, "--certs", certs, "--dry-run", "--config", config)
    assert proc.returncode == ExitCode.CONFIG
    assert "clé inconnue « trusted »" in proc.stderr


def test_usage_error_exit_2_in_french(tmp_path):
    proc = run_cli("run", "--certs", tmp_path)
    assert proc.returncode == ExitCode.USAGE
    assert "arguments obligatoires manquants" in proc.stderr and "--roster" in proc.stderr


def test_bad_date_is_a_usage_error(inputs):
    _tmp, roster, certs, _trust = inputs
    proc = run_cli("run", "--roster", roster, "--certs", certs, "--as-of", "27/11/2026")
    assert proc.returncode == ExitCode.USAGE
    assert "AAAA-MM-JJ" in proc.stderr


def test_help_is_french():
    proc = run_cli("run", "--help")
    assert proc.returncode == 0
    assert "liste des agents" in proc.stdout and "afficher cette aide" in proc.stdout


def test_internal_error_exit_70_traceback_in_log_only(inputs, monkeypatch, capsys):
    tmp, roster, certs, _trust = inputs
    config = tmp / "c.toml"
    config.write_text(f"log_file = '{tmp / 'logs' / 'certsync.log'}'\n", encoding="utf-8")

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.chdir(tmp)
    monkeypatch.setattr("certsync.runner.run", boom)
    code = cli.main(
        [
            "run",
            "--roster",
            str(roster),
            "--certs",
            str(certs),
            "--dry-run",
            "--config",
            str(config),
        ]
    )
    captured = capsys.readouterr()
    assert code == ExitCode.INTERNAL
    assert "erreur interne" in captured.err and "Traceback" not in captured.err
    crash = (tmp / "logs" / "certsync-crash.log").read_text(encoding="utf-8")
    assert "Traceback" in crash and "simulated bug" in crash


def test_formula_in_roster_stays_text_in_reports(tmp_path, pki):
    certs = tmp_path / "certs"
    write_pem(certs, "x.cer", leaf_for(pki.chambersign_ca, "Bernard", "INCONNU"))
    evil = {"Nom": "DUBOIS", "Prénom": "+cmd", "Courriel": '=HYPERLINK("http://evil","x")'}
    roster = write_csv(tmp_path / "agents.csv", [evil])
    out = tmp_path / "r"
    proc = run_cli("run", "--roster", roster, "--certs", certs, "--dry-run", "--report-dir", out)
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr
    book = openpyxl.load_workbook(out / "exceptions.xlsx")
    cells = [c for row in book["Constats"].iter_rows() for c in row if c.value]
    assert all(c.data_type in ("s", "n") for c in cells)
    assert any(str(c.value).startswith("=HYPERLINK") for c in cells)
    raw = (out / "exceptions.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil","x")' in cells and "'+cmd DUBOIS" in cells
    assert not any(cell.startswith(("=", "+", "@", "-")) for cell in cells)


def test_xlsx_summary_and_findings_sheet(inputs):
    tmp, roster, certs, trust = inputs
    (certs / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    out = tmp / "r"
    run_cli(
        "run", "--roster", roster, "--certs", certs, "--trust", trust, "--dry-run",
        "--as-of", "2026-03-01", "--report-dir", out,
    )  # fmt: skip
    book = openpyxl.load_workbook(out / "exceptions.xlsx")
    assert book.sheetnames == ["Résumé", "Constats", "Agents", "Plan"]
    summary = {r[0].value: r[1].value for r in book["Résumé"].iter_rows(min_row=3) if r[0].value}
    assert summary["Date de référence"] == "01/03/2026"
    assert summary["Agents dans la liste"] == 1
    findings = book["Constats"]
    assert findings.freeze_panes == "A2"
    assert findings.auto_filter.ref is not None
    header = [c.value for c in findings[1]]
    assert header[:6] == ["Ligne", "Fichier", "Agent", "E-mail", "Code", "Gravité"]
    codes = [row[4].value for row in findings.iter_rows(min_row=2)]
    assert "FILE_NOT_A_CERTIFICATE" in codes
    plan = [[c.value for c in row] for row in book["Plan"].iter_rows()]
    assert plan[0][:5] == ["Ligne", "Agent", "E-mail", "Action", "Raison"]
    assert plan[1][:4] == [2, "Thomas DUBOIS", "t@x.fr", "à déposer (compte non lu)"]
    assert "--url" in plan[1][4]
    assert book["Plan"].freeze_panes == "A2"


def test_inspect_text_and_json(inputs):
    _tmp, _roster, certs, trust = inputs
    proc = run_cli("inspect", certs / "thomas.cer", "--trust", trust, "--as-of", "2026-03-01")
    assert proc.returncode == 0, proc.stderr
    for label in ("Sujet", "Émetteur", "SHA-256", "SHA-1", "Clé", "RSA 2048", "Valide jusqu'au"):
        assert label in proc.stdout
    assert "aucun — certificat utilisable" in proc.stdout
    # French labels, not OIDs or library names; dates as 01/06/2025 00:00.
    for label in (
        "Prénom          : Thomas",
        "Nom             : DUBOIS",
        "Authentification client",
    ):
        assert label in proc.stdout
    for raw in ("2.5.4.42", "2.5.4.4=", "1.3.6.1.5.5.7.3.2", "digital_signature", "UTC"):
        assert raw not in proc.stdout
    assert re.search(r"Valide du +: 01/06/2025 \d\d:\d\d\n", proc.stdout)
    proc = run_cli("inspect", certs / "thomas.cer", "--json", "--as-of", "2026-03-01")
    data = json.loads(proc.stdout)
    assert data[0]["format"] == "pem" and len(data[0]["sha256"]) == 64
    assert [c["code"] for c in data[0]["constats"]] == ["CERT_CHAIN_UNCHECKED"]
    assert proc.returncode == ExitCode.FINDINGS


def test_inspect_missing_file_exit_66(tmp_path):
    proc = run_cli("inspect", tmp_path / "absent.cer")
    assert proc.returncode == ExitCode.INPUT
    assert "introuvable" in proc.stderr


def test_every_command_and_option_is_documented_in_the_readme():
    import argparse

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        assert f"certsync {name}" in readme, name
        if name == "run":
            for action in command._actions:
                for flag in action.option_strings:
                    if flag.startswith("--") and flag != "--help":
                        assert f"`{flag}" in readme, flag
