"""Nightly runs end to end: the real CLI, a real sandbox on loopback, a real SQLite state."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certsync import cli
from certsync.errors import ExitCode
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials
from certsync.testkit.rosters import write_csv
from tests.helpers import RENNES_SIREN, leaf_for, write_pem

PEOPLE = [
    ("Thomas", "DUBOIS"),
    ("Éloïse", "LE GALL"),
    ("Jean-Marie", "LE GOFF"),
    ("Gaëlle", "KERHERVÉ"),
    ("Yann", "MORVAN"),
    ("Zoé", "PRIGENT"),
]
ENV = {"CERTSYNC_USER": DEMO_USER, "CERTSYNC_PASSWORD": DEMO_PASSWORD}


def email(prenom: str, nom: str) -> str:
    local = f"{prenom}.{nom}".lower().replace(" ", "").replace("é", "e").replace("ë", "e")
    return local.replace("ï", "i").replace("è", "e") + "@ville.fr"


class World:
    """A folder with a roster, certificate files and a trust store, plus a sandbox."""

    def __init__(self, tmp: Path, pki, sandbox: SandboxHandle) -> None:
        self.tmp = tmp
        self.pki = pki
        self.sandbox = sandbox
        self.certs = tmp / "depot"
        self.trust = tmp / "trust.pem"
        self.trust.write_bytes(pki.trust_pem())
        self.rows = [
            {"Nom": n, "Prénom": p, "Courriel": email(p, n), "SIREN": RENNES_SIREN}
            for p, n in PEOPLE
        ]
        self.roster = write_csv(tmp / "agents.csv", self.rows)
        for i, (p, n) in enumerate(PEOPLE):
            write_pem(self.certs, f"{p} {n}.cer", leaf_for(pki.chambersign_ca, p, n, slot=i % 4))

    def args(self, *extra: str, as_of: str = "2026-03-01") -> list[str]:
        return [
            "run", "--roster", str(self.roster), "--certs", str(self.certs),
            "--trust", str(self.trust), "--url", self.sandbox.url, "--as-of", as_of,
            "--state", str(self.tmp / "state.sqlite"), "--quiet", *extra,
        ]  # fmt: skip

    def writes(self) -> dict[str, int]:
        return {str(a["email"]): int(a["writes"]) for a in self.sandbox.accounts()}  # type: ignore[call-overload]

    def report(self, name: str) -> dict:
        return json.loads((self.tmp / name / "report.json").read_text(encoding="utf-8"))


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


@pytest.mark.slow
def test_second_run_writes_nothing_and_parses_nothing(world, monkeypatch):
    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK
    assert set(world.writes().values()) == {1}
    assert {a["status"] for a in world.report("r1")["agents"]} == {"pushed"}

    import certsync.ingest as ingest

    parsed: list[str] = []
    real = ingest.read_file

    def counting(root, rel, limits):
        parsed.append(rel)
        return real(root, rel, limits)

    monkeypatch.setattr(ingest, "read_file", counting)
    assert cli.main(world.args("--report-dir", "r2")) == ExitCode.OK
    assert parsed == []
    assert set(world.writes().values()) == {1}
    assert {a["status"] for a in world.report("r2")["agents"]} == {"unchanged"}

    # A replaced file and a roster change are taken into account, and only they are parsed.
    p, n = PEOPLE[0]
    renewed = leaf_for(
        world.pki.chambersign_ca, p, n, not_before=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    )
    write_pem(world.certs, f"{p} {n}.cer", renewed)
    world.rows.append({"Nom": "RIOU", "Prénom": "Mathieu", "Courriel": "m.riou@ville.fr"})
    write_csv(world.roster, world.rows)
    write_pem(world.certs, "riou.cer", leaf_for(world.pki.chambersign_ca, "Mathieu", "RIOU"))
    code = cli.main(world.args("--report-dir", "r3", "--create-missing"))
    assert code == ExitCode.OK
    assert sorted(parsed) == sorted([f"{p} {n}.cer", "riou.cer"])
    writes = world.writes()
    assert writes[email(p, n)] == 2 and writes["m.riou@ville.fr"] == 1
    assert sum(writes.values()) == len(PEOPLE) + 2


@pytest.mark.slow
def test_renewal_of_an_expiring_certificate_is_reported(world):
    p, n = PEOPLE[1]
    old = leaf_for(
        world.pki.chambersign_ca, p, n, not_before=dt.datetime(2023, 3, 20, tzinfo=dt.UTC)
    )
    write_pem(world.certs, f"{p} {n}.cer", old)
    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK
    new = leaf_for(
        world.pki.chambersign_ca, p, n, not_before=dt.datetime(2026, 2, 20, tzinfo=dt.UTC)
    )
    write_pem(world.certs, f"{p} {n}.cer", new)
    assert cli.main(world.args("--report-dir", "r2")) == ExitCode.OK
    agent = next(a for a in world.report("r2")["agents"] if a["email"] == email(p, n))
    assert agent["status"] == "pushed"
    assert "CERT_RENEWED" in agent["codes"]
    others = [a for a in world.report("r2")["agents"] if a["email"] != email(p, n)]
    assert all("CERT_RENEWED" not in a["codes"] for a in others)


def _spawn(world: World, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, **ENV}
    return subprocess.Popen(
        [sys.executable, "-m", "certsync", *world.args(*extra)],
        cwd=world.tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.mark.slow
def test_run_killed_mid_push_then_next_run_completes_writing_each_once(tmp_path, pki, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    accounts = [{"email": email(p, n), "nom": n, "prenom": p} for p, n in PEOPLE]
    slow = start_sandbox(
        "socle", accounts=accounts, credentials=SandboxCredentials(), latency_ms=150
    )
    try:
        world = World(tmp_path, pki, slow)
        config = tmp_path / "slow.toml"
        config.write_text("[platform]\nworkers = 1\n", encoding="utf-8")
        proc = _spawn(world, "--report-dir", "r1", "--config", str(config))
        _wait_for(lambda: sum(world.writes().values()) >= 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        first = sum(world.writes().values())
        assert 2 <= first < len(PEOPLE)
        code = cli.main(world.args("--report-dir", "r2"))
        assert code == ExitCode.OK
        assert set(world.writes().values()) == {1}
        statuses = [a["status"] for a in world.report("r2")["agents"]]
        assert statuses.count("pushed") == len(PEOPLE) - first
        assert statuses.count("unchanged") == first
    finally:
        slow.stop()


@pytest.mark.slow
def test_second_concurrent_run_exits_75_naming_the_first(tmp_path, pki, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    accounts = [{"email": email(p, n), "nom": n, "prenom": p} for p, n in PEOPLE]
    # Slow enough that the first run is still pushing while the second one starts, even when
    # a loaded machine takes a couple of seconds to start a Python process.
    slow = start_sandbox(
        "socle", accounts=accounts, credentials=SandboxCredentials(), latency_ms=1000
    )
    try:
        world = World(tmp_path, pki, slow)
        first = _spawn(world, "--report-dir", "r1")
        _wait_for(
            lambda: (tmp_path / "state.sqlite.lock").exists() and sum(world.writes().values()) >= 1
        )
        second = _spawn(world, "--report-dir", "r2")
        _out, err = second.communicate(timeout=30)
        assert second.returncode == ExitCode.LOCKED
        assert "Un autre traitement certsync est en cours" in err and str(first.pid) in err
        assert first.wait(timeout=60) == ExitCode.OK
    finally:
        slow.stop()


@pytest.mark.slow
def test_rollback_restores_the_previous_certificates(world):
    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK
    before = {str(a["email"]): a["sha256"] for a in world.sandbox.accounts()}
    for i, (p, n) in enumerate(PEOPLE[:3]):
        new = leaf_for(
            world.pki.chambersign_ca,
            p,
            n,
            not_before=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
            slot=i,
        )
        write_pem(world.certs, f"{p} {n}.cer", new)
    assert cli.main(world.args("--report-dir", "r2")) == ExitCode.OK
    changed = {
        str(a["email"]) for a in world.sandbox.accounts() if before[str(a["email"])] != a["sha256"]
    }
    assert len(changed) == 3
    state = str(world.tmp / "state.sqlite")
    runs = json.loads(_history_json(state))
    second = runs[0]["run_id"]
    code = cli.main(["rollback", second, "--url", world.sandbox.url, "--state", state, "--quiet"])
    assert code == ExitCode.OK
    after = {str(a["email"]): a["sha256"] for a in world.sandbox.accounts()}
    assert after == before


def _history_json(state: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "certsync", "history", "--state", state, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


@pytest.mark.slow
def test_history_lists_runs_with_counts_and_exit_codes(world):
    cli.main(world.args("--report-dir", "r1"))
    cli.main(world.args("--report-dir", "r2", "--dry-run"))
    runs = json.loads(_history_json(str(world.tmp / "state.sqlite")))
    assert [r["command"] for r in runs] == ["run", "run"]
    assert [r["exit_code"] for r in runs] == [0, 0]
    assert runs[1]["counts"]["pushed"] == len(PEOPLE)
    assert runs[0]["counts"]["unchanged"] == len(PEOPLE)


@pytest.mark.slow
def test_expiring_and_notify_dry_run_from_the_state(world, capsys):
    p, n = PEOPLE[2]
    old = leaf_for(
        world.pki.chambersign_ca, p, n, not_before=dt.datetime(2023, 3, 20, tzinfo=dt.UTC)
    )
    write_pem(world.certs, f"{p} {n}.cer", old)
    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK
    state = str(world.tmp / "state.sqlite")
    code = cli.main(
        ["expiring", "--within", "30", "--as-of", "2026-03-01", "--state", state,
         "--report-dir", str(world.tmp / "exp")]
    )  # fmt: skip
    assert code == 0
    data = json.loads((world.tmp / "exp" / "expiring.json").read_text(encoding="utf-8"))
    rows = data if isinstance(data, list) else data.get("entries", data.get("agents"))
    assert [r["email"] for r in rows] == [email(p, n)]
    assert (world.tmp / "exp" / "expiring.xlsx").exists()
    config = world.tmp / "smtp.toml"
    config.write_text("[smtp]\nsender = 'certificats@ville.fr'\n", encoding="utf-8")
    capsys.readouterr()
    code = cli.main(
        ["notify", "--within", "30", "--as-of", "2026-03-01", "--state", state, "--dry-run",
         "--config", str(config)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert email(p, n) in out and "19/03/2026" in out


@pytest.mark.slow
def test_unchanged_nightly_run_reuses_the_last_result(world, monkeypatch, capsys):
    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK  # pushes
    assert cli.main(world.args("--report-dir", "r2")) == ExitCode.OK  # confirms: unchanged
    import certsync.runner as run_command

    def no_full_run(*args, **kwargs):
        raise AssertionError("the third run should have reused the second")

    monkeypatch.setattr(run_command, "full_run", no_full_run)
    capsys.readouterr()
    assert cli.main(world.args("--report-dir", "r3")) == ExitCode.OK
    assert capsys.readouterr().out == ""  # --quiet, and nothing new: a silent night
    args = [a for a in world.args("--report-dir", "r4") if a != "--quiet"]
    assert cli.main(args) == ExitCode.OK
    assert "rien n'a changé" in capsys.readouterr().out
    third = world.report("r3")
    assert third["reused_from"] and third["run_id"] != third["reused_from"]
    assert {a["status"] for a in third["agents"]} == {"unchanged"}
    assert set(world.writes().values()) == {1}
    monkeypatch.undo()


@pytest.mark.parametrize("change", ["none", "file", "full", "date", "roster"])
def test_shortcut_is_not_taken_when_something_changed(world, monkeypatch, change):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    args = world.args("--dry-run", "--report-dir", "r1")
    args[args.index(world.sandbox.url) - 1 : args.index(world.sandbox.url) + 1] = []  # offline
    assert cli.main(args) == ExitCode.OK
    extra: list[str] = []
    as_of = "2026-03-01"
    if change == "file":
        p, n = PEOPLE[0]
        write_pem(world.certs, "nouveau.cer", leaf_for(world.pki.chambersign_ca, p, n, slot=3))
    elif change == "full":
        extra = ["--full"]
    elif change == "none":
        pass
    elif change == "date":
        as_of = "2028-06-01"  # past every certificate's expiry
    else:
        world.rows.pop()
        write_csv(world.roster, world.rows)
    args2 = [a if a != "2026-03-01" else as_of for a in args]
    args2[args2.index("r1")] = "r2"
    cli.main([*args2, *extra])
    assert ("reused_from" in world.report("r2")) is (change == "none")


@pytest.mark.slow
def test_expiring_reads_the_platform_when_given_its_url(world):
    p, n = PEOPLE[3]
    old = leaf_for(
        world.pki.chambersign_ca, p, n, not_before=dt.datetime(2023, 3, 10, tzinfo=dt.UTC)
    )
    write_pem(world.certs, f"{p} {n}.cer", old)
    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK
    empty_state = str(world.tmp / "autre.sqlite")  # nothing recorded: only the platform knows
    code = cli.main(
        ["expiring", "--within", "30", "--as-of", "2026-03-01", "--state", empty_state,
         "--url", world.sandbox.url, "--report-dir", str(world.tmp / "exp")]
    )  # fmt: skip
    assert code == 0
    data = json.loads((world.tmp / "exp" / "expiring.json").read_text(encoding="utf-8"))
    rows = data if isinstance(data, list) else data.get("entries", data.get("agents"))
    assert [(r["email"], r["source"]) for r in rows] == [(email(p, n), "platform")]


@pytest.mark.slow
def test_rollback_restores_a_certificate_placed_by_hand_before_the_first_run(world):
    from certsync.config import PlatformConfig
    from certsync.connectors import make_connector
    from certsync.connectors.pem import to_pem

    p, n = PEOPLE[4]
    by_hand = leaf_for(
        world.pki.chambersign_ca, p, n, not_before=dt.datetime(2024, 1, 5, tzinfo=dt.UTC)
    )
    connector = make_connector(PlatformConfig(), url=world.sandbox.url, env=ENV)
    connector.check()
    connector.write_certificate(connector.list_accounts()[email(p, n)], to_pem(by_hand.der))
    connector.close()
    before = {str(a["email"]): a["sha256"] for a in world.sandbox.accounts()}

    assert cli.main(world.args("--report-dir", "r1")) == ExitCode.OK
    assert {str(a["email"]): a["sha256"] for a in world.sandbox.accounts()} != before
    state = str(world.tmp / "state.sqlite")
    first = json.loads(_history_json(state))[0]["run_id"]
    assert cli.main(["rollback", first, "--url", world.sandbox.url, "--state", state]) == 0
    after = {str(a["email"]): a["sha256"] for a in world.sandbox.accounts()}
    assert after[email(p, n)] == before[email(p, n)]  # the hand-placed certificate is back
