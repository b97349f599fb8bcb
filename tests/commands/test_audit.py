"""`certsync audit` and `history` marks, over real runs on a sandbox and a real state file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from certsync import cli
from certsync.errors import ExitCode
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import SandboxCredentials
from certsync.state import MIGRATIONS, SCHEMA_VERSION, StateStore, StoredCert
from tests.commands.test_cron import ENV, PEOPLE, World, email
from tests.helpers import leaf_for, write_pem


@pytest.fixture
def world(tmp_path, pki, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    accounts = [{"email": email(p, n), "nom": n, "prenom": p} for p, n in PEOPLE]
    sandbox = start_sandbox("socle", accounts=accounts, credentials=SandboxCredentials())
    try:
        yield World(tmp_path, pki, sandbox)
    finally:
        sandbox.stop()


def _json(capsys, argv: list[str]) -> list[dict]:
    capsys.readouterr()
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_audit_shows_each_change_with_file_certificates_and_rollback(world, capsys):
    state = str(world.tmp / "state.sqlite")
    assert cli.main(world.args("--report-dir", "r0", "--dry-run")) == ExitCode.OK
    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK
    p, n = PEOPLE[1]
    who = email(p, n)
    renewed = leaf_for(
        world.pki.chambersign_ca, p, n, not_before=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), slot=3
    )
    write_pem(world.certs, "renouvelé/nouveau.pem", renewed)
    assert cli.main(world.args("--report-dir", "r2")) == ExitCode.OK
    runs = _json(capsys, ["history", "--state", state, "--json"])
    second, first, dry = (r["run_id"] for r in runs)
    assert [r["dry_run"] for r in runs] == [False, False, True]
    assert not any(r["interrupted"] for r in runs)
    assert cli.main(["rollback", second, "--url", world.sandbox.url, "--state", state]) == 0

    trail = _json(capsys, ["audit", who.upper(), "--state", state, "--json"])
    assert [(t["action"], t["run_id"]) for t in trail] == [
        ("push", first),
        ("push", second),
        ("rollback", trail[2]["run_id"]),
    ]
    initial, replaced, undo = trail
    assert initial["source_file"] == f"{p} {n}.cer" and initial["previous"] is None
    assert initial["new"]["common_name"] == f"{p} {n}"
    assert initial["new"]["not_after"].startswith("2028-05-31")
    assert replaced["source_file"] == "renouvelé/nouveau.pem"
    assert replaced["previous"] == initial["new"]
    assert replaced["new"]["sha256"] == hashlib.sha256(renewed.der).hexdigest()
    assert replaced["new"]["not_after"].startswith("2029-01-31")
    assert replaced["rolled_back_by"] == undo["run_id"] and initial["rolled_back_by"] is None
    assert undo["rollback_of"] == second and undo["source_file"] is None
    assert undo["previous"]["sha256"] == hashlib.sha256(renewed.der).hexdigest()
    assert undo["new"] == initial["new"]
    assert all(t["email"] == who for t in trail)

    capsys.readouterr()
    assert cli.main(["audit", who, "--state", state]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{who} (socle, compte ")
    assert f"dépôt  exécution {first}  fichier « {p} {n}.cer »" in text
    assert "avant : aucun certificat" in text
    assert f"après : « {p} {n} », valable jusqu'au 31/05/2028, SHA-256 " in text
    assert f"SHA-256 {hashlib.sha256(renewed.der).hexdigest()}" in text
    assert f"annulé par le retour arrière {undo['run_id']}" in text
    assert f"(annule l'exécution {second})" in text

    everyone = _json(capsys, ["audit", "--state", state, "--json"])
    assert len(everyone) == len(PEOPLE) + 2
    assert {t["email"] for t in everyone} == {email(p, n) for p, n in PEOPLE}
    capsys.readouterr()
    assert cli.main(["history", "--state", state]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [("[simulation]" in line) for line in lines] == [False, False, False, True]
    assert dry in lines[3]


def test_history_marks_a_run_that_never_ended(tmp_path, capsys):
    state = tmp_path / "state.sqlite"
    start = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
    with StateStore.open(state) as store:
        store.begin_run(
            run_id="killed", command="run", parameters={"dry_run": False}, started=start
        )
        store.begin_run(run_id="cut", command="run", parameters={}, started=start.replace(hour=3))
        store.end_run("cut", ended=start.replace(hour=4), exit_code=69, counts={})
    assert cli.main(["history", "--state", str(state)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("cut") and "[interrompue : le reste sera repris]" in out[0]
    assert out[1].startswith("killed") and "[interrompue : jamais terminée" in out[1]
    assert "[simulation]" not in "".join(out)


def test_audit_of_an_account_never_written(tmp_path, capsys):
    assert cli.main(["audit", "x@y.fr", "--state", str(tmp_path / "s.sqlite")]) == 0
    assert "Aucun changement de certificat enregistré pour le compte x@y.fr." in (
        capsys.readouterr().out
    )


def test_migration_keeps_old_audit_lines_without_a_file(tmp_path, pki):
    import sqlite3

    from certsync.state.schema import _statements

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:3]:
        for statement in _statements(script):
            db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    db.execute("PRAGMA application_id = 1667592820")
    db.execute(
        "INSERT INTO audit (at, run_id, action, platform, email_key, email, account_id, "
        "old_sha256, new_sha256) VALUES ('2026-01-01T00:00:00.000000Z', 'old', 'push', 'socle', "
        "'a@b.fr', 'a@b.fr', '1', NULL, 'ff')"
    )
    db.close()
    with StateStore.open(path) as store:
        (entry,) = store.audit_entries("A@B.FR")
        assert entry.source_file is None and entry.new_sha256 == "ff"
        cert = StoredCert.from_der(leaf_for(pki.chambersign_ca, "Anne", "MARTIN").der)
        store.record_write(
            run_id="new", platform="socle", account_id="1", email="a@b.fr", cert=cert,
            old_der=None, at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), source_file="a.cer",
        )  # fmt: skip
        assert [e.source_file for e in store.audit_entries()] == [None, "a.cer"]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_run_stopped_by_ctrl_c_is_recorded_as_interrupted(tmp_path, monkeypatch, capsys):
    import certsync.runner as run_command

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_command, "full_run", interrupted)
    roster, certs = tmp_path / "agents.csv", tmp_path / "depot"
    roster.write_text("Nom;Prénom;Courriel\nMARTIN;Anne;a@b.fr\n", encoding="utf-8")
    certs.mkdir()
    (certs / "a.cer").write_bytes(b"x")
    state = str(tmp_path / "s.sqlite")
    code = cli.main(["run", "--roster", str(roster), "--certs", str(certs), "--dry-run",
                     "--state", state, "--report-dir", str(tmp_path / "r")])  # fmt: skip
    assert code == ExitCode.INTERRUPTED == 130
    capsys.readouterr()
    assert cli.main(["history", "--state", state, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert run["exit_code"] == 130 and run["interrupted"] and run["dry_run"]
