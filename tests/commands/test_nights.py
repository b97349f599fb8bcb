"""Nights an administrator can trust: one data folder wherever the run starts, old reports and
logs pruned, silence when nothing is new, Ctrl-C recorded as such (real CLI, sandbox, state)."""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest

from certsync import cli
from certsync.errors import ExitCode
from certsync.housekeeping import prune_reports, rotate_log
from tests.commands.test_safe_runs import ENV, Site, mail
from tests.helpers import leaf_for, write_pem

NOW = dt.datetime(2026, 12, 1, 13, 16, tzinfo=dt.UTC)


def _age(path: Path, days: float) -> None:
    moment = (NOW - dt.timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))


def _cli(*args: str | Path, cwd: Path | str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "certsync", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def offline(tmp_path, pki):
    certs = tmp_path / "depot"
    write_pem(certs, "thomas.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    roster = tmp_path / "agents.csv"
    roster.write_text(
        "Nom;Prénom;Courriel;SIREN\nDUBOIS;Thomas;thomas.dubois@ville.fr;213502388\n",
        encoding="utf-8",
    )
    trust = tmp_path / "trust.pem"
    trust.write_bytes(pki.trust_pem())
    return ["run", "--roster", roster, "--certs", certs, "--trust", trust, "--dry-run"]


# -- 5. one data folder, whatever the current folder --------------------------------------------


def test_defaults_live_in_the_user_data_folder_whatever_the_current_folder(offline, tmp_path):
    data = Path.home() / ".local" / "share" / "certsync"
    first = _cli(*offline, cwd="/")
    assert first.returncode == ExitCode.OK, first.stderr
    assert f"Fichier d'état : {data / 'certsync.sqlite'}" in first.stdout
    assert f"Rapport : {data / 'rapports'}" in first.stdout
    assert (data / "certsync.sqlite").is_file() and (data / "certsync.log").is_file()
    assert (data / "status.json").is_file()
    [report] = list((data / "rapports").iterdir())
    assert (report / "report.json").is_file()
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    second = _cli(*offline, "--full", cwd=elsewhere)
    assert second.returncode == ExitCode.OK, second.stderr
    assert list(elsewhere.iterdir()) == []  # nothing written in the current folder
    history = json.loads(_cli("history", "--json", cwd=elsewhere).stdout)
    assert len(history) == 2  # one state, one history


def test_data_dir_from_the_configuration_or_the_service_environment(offline, tmp_path):
    config = tmp_path / "etc" / "certsync.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "donnees"\n', encoding="utf-8")
    proc = _cli(*offline, "--config", config, cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert (tmp_path / "etc" / "donnees" / "certsync.sqlite").is_file()
    assert (tmp_path / "etc" / "donnees" / "rapports").is_dir()
    service = tmp_path / "var-lib-certsync"
    proc = _cli(*offline, cwd=tmp_path, env={"CERTSYNC_DATA_DIR": str(service)})
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert (service / "certsync.sqlite").is_file() and (service / "status.json").is_file()


def test_old_report_folders_are_pruned_and_nothing_else(tmp_path):
    root = tmp_path / "rapports"
    old, recent = root / "2026-06-01-023000", root / "2026-11-30-023000"
    mine, campaign = root / "mes-notes", root / "expiration-2026-01-05-080000"
    kept_file = root / "2026-05-01-023000"
    for folder in (old, recent, mine, campaign, kept_file):
        folder.mkdir(parents=True)
        (folder / "report.json").write_text("{}", encoding="utf-8")
    (campaign / "expiring.xlsx").write_bytes(b"x")
    (kept_file / "notes.txt").write_text("à garder", encoding="utf-8")
    for folder in (old, mine, campaign, kept_file):
        _age(folder, 120)
    _age(recent, 1)
    removed = prune_reports(root, keep_days=90, now=NOW)
    assert sorted(removed) == sorted([old, campaign])
    assert sorted(p.name for p in root.iterdir()) == [
        "2026-05-01-023000", "2026-11-30-023000", "mes-notes",
    ]  # fmt: skip
    assert (kept_file / "notes.txt").is_file()  # a folder holding someone's file stays
    assert prune_reports(root, keep_days=0, now=NOW) == []


def test_the_log_starts_afresh_each_day_and_old_logs_are_deleted(tmp_path):
    log = tmp_path / "certsync.log"
    log.write_text('{"message": "hier"}\n', encoding="utf-8")
    _age(log, 1)
    ancient = tmp_path / "certsync.log.2026-01-02"
    ancient.write_text("{}\n", encoding="utf-8")
    other = tmp_path / "certsync.log.notes"
    other.write_text("x", encoding="utf-8")
    removed = rotate_log(log, keep_days=90, now=NOW)
    assert removed == [ancient]
    assert not log.exists()
    assert (tmp_path / "certsync.log.2026-11-30").read_text(encoding="utf-8") == (
        '{"message": "hier"}\n'
    )
    assert other.exists()
    log.write_text("today\n", encoding="utf-8")
    os.utime(log, (NOW.timestamp(), NOW.timestamp()))
    assert rotate_log(log, keep_days=90, now=NOW) == [] and log.exists()  # same day: kept


def test_a_run_prunes_its_old_report_folders(offline, tmp_path):
    data = tmp_path / "data"
    old = data / "rapports" / "2020-01-01-023000"
    old.mkdir(parents=True)
    (old / "exceptions.xlsx").write_bytes(b"x")
    _age(old, 400)
    proc = _cli(*offline, cwd=tmp_path, env={"CERTSYNC_DATA_DIR": str(data)})
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert not old.exists()
    assert len(list((data / "rapports").iterdir())) == 1


# -- 6. quiet nights ---------------------------------------------------------------------------


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


def _status() -> dict:
    path = Path.home() / ".local" / "share" / "certsync" / "status.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_quiet_night_prints_only_what_is_new(site, capsys):
    (site.certs / "cle.pem").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    assert cli.main(site.args("--report-dir", "r1", "--quiet")) == ExitCode.FINDINGS
    first = capsys.readouterr()
    assert (
        "dépôt réel" in first.out
        and "nouveaux depuis la dernière exécution (bloquants et avertissements) : 1" in first.out
    )
    status = _status()
    assert (status["ok"], status["has_findings"]) == (True, True)
    assert status["findings"] == {"blocking": 1, "new": 1}

    # The same lasting problem, nothing to push: a silent night (full run, then the shortcut).
    assert cli.main(site.args("--report-dir", "r2", "--quiet", "--full")) == ExitCode.FINDINGS
    assert cli.main(site.args("--report-dir", "r3", "--quiet")) == ExitCode.FINDINGS
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    assert _status()["ok"] is True and _status()["findings"] == {"blocking": 1, "new": 0}
    assert (site.tmp / "r2" / "report.json").is_file() and (
        site.tmp / "r3" / "report.json"
    ).is_file()

    # A new problem speaks up.
    (site.certs / "capture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    assert cli.main(site.args("--report-dir", "r4", "--quiet")) == ExitCode.FINDINGS
    assert (
        "nouveaux depuis la dernière exécution (bloquants et avertissements) : 1"
        in capsys.readouterr().out
    )
    assert _status()["findings"] == {"blocking": 2, "new": 1}


# -- 8. Ctrl-C --------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_is_recorded_as_interrupted_with_what_was_done(tmp_path, pki):
    site = Site(tmp_path, pki, latency_ms=150)
    try:
        config = tmp_path / "slow.toml"
        config.write_text("[platform]\nworkers = 1\n", encoding="utf-8")
        args = site.args("--report-dir", "r1", "--config", config)
        proc = subprocess.Popen(
            [sys.executable, "-m", "certsync", *args],
            cwd=tmp_path, env={**os.environ, **ENV},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while site.writes() < 2:
            assert time.monotonic() < deadline, "no write within 30 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        written = site.writes()
        assert proc.returncode == ExitCode.INTERRUPTED == 130
        assert "Interrompu (Ctrl-C)" in err and "Traceback" not in err
        assert f"{written} compte(s) avaient déjà été modifiés" in err
        assert "certsync rollback" in err
        history = json.loads(_cli("history", "--json", "--state", site.state, cwd=tmp_path).stdout)
        assert history[0]["exit_code"] == 130
        assert history[0]["counts"] == {"interrupted": 1, "pushed": written}
        assert "interrompu" in _cli("history", "--state", site.state, cwd=tmp_path).stdout
    finally:
        site.sandbox.stop()


# -- 7. reminders previewed without an [smtp] section -------------------------------------------


def test_notify_dry_run_needs_no_smtp_section_and_writes_eml_files(site, capsys):
    assert cli.main(site.args("--report-dir", "r1", "--quiet")) == ExitCode.OK
    capsys.readouterr()
    out_dir = site.tmp / "apercu"
    code = cli.main(
        ["notify", "--within", "60", "--as-of", "2028-04-15", "--state", str(site.state),
         "--dry-run", "--report-dir", str(out_dir)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    files = sorted(out_dir.glob("*.eml"))
    assert len(files) == len(site.people)
    assert f"{len(files)} fichier(s) .eml dans {out_dir}" in out and "[smtp]" in out
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] in {mail(p, n) for p, n in site.people}
    assert "31/05/2028" in str(message["Subject"])
    assert "Bonjour" in message.get_body().get_content()  # type: ignore[union-attr]
    # A preview sends nothing and remembers nothing: the real send is still to come.
    runs = json.loads(_cli("history", "--json", "--state", site.state, cwd=site.tmp).stdout)
    assert runs[0]["command"] == "notify" and runs[0]["counts"] == {"would_send": len(files)}


def test_onboarding_files_go_to_the_data_folder_by_default(tmp_path):
    samples = Path(__file__).resolve().parents[2] / "samples"
    proc = _cli(
        "onboarding", "--roster", samples / "agents.csv", "--export", samples / "export_agent.csv",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode in (ExitCode.OK, ExitCode.FINDINGS), proc.stderr
    assert list(tmp_path.iterdir()) == []
    [folder] = (Path.home() / ".local" / "share" / "certsync" / "rapports").iterdir()
    assert folder.name.startswith("onboarding-") and (folder / "onboarding.xlsx").is_file()
