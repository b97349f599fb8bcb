"""The run lock cannot be kept by orphans, bypassed through links, or turned against a file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certsync import cli
from certsync.errors import ExitCode, LockedError, StateError
from certsync.lock import RunLock, lock_path
from certsync.logs import check_log_file
from certsync.state import StateStore
from certsync.testkit.rosters import write_csv
from tests.helpers import leaf_for, write_pem
from tests.unprivileged import as_nobody, world_dir

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
ROW = {"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": "t@x.fr", "SIREN": "213502388"}


def test_a_forked_child_does_not_hold_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    lock = RunLock(state, run_id="r1", started=NOW)
    lock.acquire()
    ready, started = os.pipe()
    child = os.fork()
    if child == 0:  # a reading worker: it lives on after the parent let go
        os.write(started, b"1")
        time.sleep(30)
        os._exit(0)
    try:
        assert os.read(ready, 1) == b"1"
        lock.release()
        # The child's copy of the descriptor would keep the flock: the next run must get it.
        with RunLock(state, run_id="r2", started=NOW):
            pass
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


_LEFTOVER = """
import fcntl, json, os, sys, time
from certsync.lock import _where
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
where = _where() if sys.argv[3] == "here" else "another-host pid:[1]"
os.pwrite(fd, json.dumps({"pid": int(sys.argv[2]), "started": "2026-11-27T04:00:00+00:00",
    "run_id": "old-run", "where": where}).encode(), 0)
print("held", flush=True)
time.sleep(60)
"""


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_kept_by_leftovers_of_a_dead_run_is_taken_over(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    path = lock_path(state)
    leftover = subprocess.Popen(
        [sys.executable, "-c", _LEFTOVER, str(path), str(_dead_pid()), "here"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert leftover.stdout is not None and leftover.stdout.readline().strip() == "held"
        with RunLock(state, run_id="r2", started=NOW) as lock:
            assert json.loads(lock.path.read_text())["run_id"] == "r2"
            # The taken-over lock is a real lock: the next one is refused, naming this run.
            with pytest.raises(LockedError, match="r2"):
                RunLock(state, run_id="r3", started=NOW).acquire()
    finally:
        leftover.kill()
        leftover.wait()
    assert not list(tmp_path.glob("*.new"))


@pytest.mark.parametrize("holder", ["alive", "elsewhere"])
def test_lock_of_a_live_or_remote_holder_is_not_taken_over(tmp_path: Path, holder: str) -> None:
    state = tmp_path / "certsync.sqlite"
    # A PID from another machine or container says nothing here, even if it is free here.
    pid, where = (os.getpid(), "here") if holder == "alive" else (_dead_pid(), "elsewhere")
    leftover = subprocess.Popen(
        [sys.executable, "-c", _LEFTOVER, str(lock_path(state)), str(pid), where],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert leftover.stdout is not None and leftover.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match="old-run"):
            RunLock(state, run_id="r2", started=NOW).acquire()
    finally:
        leftover.kill()
        leftover.wait()


@pytest.mark.slow
def test_kill_9_of_a_run_with_workers_does_not_lock_the_next_run(tmp_path: Path, pki) -> None:
    certs = tmp_path / "certs"
    issued = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    for i in range(1500):  # enough files for the process pool (ingest._POOL_MIN_FILES)
        write_pem(certs, f"sub{i % 10}/thomas-{i}.cer", issued)
    roster = write_csv(tmp_path / "agents.csv", [ROW])
    config = tmp_path / "certsync.toml"
    config.write_text("read_workers = 2\n", encoding="utf-8")
    args = ["run", "--roster", roster, "--certs", certs, "--dry-run", "--config", config]
    args += ["--state", tmp_path / "var" / "certsync.sqlite"]
    command = [sys.executable, "-m", "certsync", *map(str, args)]
    run = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while not workers and time.monotonic() < deadline and run.poll() is None:
        children = Path(f"/proc/{run.pid}/task/{run.pid}/children")
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
        time.sleep(0.02)
    assert workers, "the run never started its reading workers"
    run.kill()
    run.wait()
    for _ in range(200):  # the kernel kills the workers with their parent
        if not any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in workers):
            break
        time.sleep(0.05)
    else:
        pytest.fail("reading workers outlived their parent")
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode != ExitCode.LOCKED, again.stderr
    assert again.returncode in (ExitCode.OK, ExitCode.FINDINGS), again.stderr


def _state(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return text[text.rfind(")") + 2]


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_link_to_the_state_meets_the_same_lock(tmp_path: Path, link: str) -> None:
    state = tmp_path / "var" / "certsync.sqlite"
    StateStore.open(state).close()
    other = tmp_path / "elsewhere" / "state.sqlite"
    other.parent.mkdir()
    if link == "symlink":
        other.symlink_to(state)
    else:
        os.link(state, other)
    with RunLock(state, run_id="r1", started=NOW):
        with pytest.raises(LockedError) as raised:
            RunLock(other, run_id="r2", started=NOW).acquire()
        assert raised.value.exit_code == ExitCode.LOCKED
    with RunLock(other, run_id="r3", started=NOW):  # free again once the first run ended
        pass


def test_a_state_created_by_the_run_is_locked_by_identity(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    lock = RunLock(state, run_id="r1", started=NOW)
    lock.acquire()
    try:
        StateStore.open(state).close()
        lock.pin()
        hard = tmp_path / "copy.sqlite"
        os.link(state, hard)
        with pytest.raises(LockedError, match="lien"):
            RunLock(hard, run_id="r2", started=NOW).acquire()
    finally:
        lock.release()


def test_planted_link_as_lock_file_is_refused_and_target_untouched(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    victim = tmp_path / "precious.txt"
    victim.write_text("do not truncate me\n")
    lock_path(state).symlink_to(victim)
    with pytest.raises(StateError) as raised:
        RunLock(state, run_id="r1", started=NOW).acquire()
    assert raised.value.exit_code == ExitCode.STATE
    assert "lien symbolique" in raised.value.message
    assert victim.read_text() == "do not truncate me\n"


def test_hard_linked_lock_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    victim = tmp_path / "precious.txt"
    victim.write_text("keep\n")
    os.link(victim, lock_path(state))
    with pytest.raises(StateError, match="plusieurs noms"):
        RunLock(state, run_id="r1", started=NOW).acquire()
    assert victim.read_text() == "keep\n"


def test_planted_link_as_log_file_is_refused_by_the_cli(tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep\n")
    log = tmp_path / "logs" / "certsync.log"
    log.parent.mkdir()
    log.symlink_to(victim)
    with pytest.raises(StateError, match="lien symbolique"):
        check_log_file(log)
    config = tmp_path / "c.toml"
    config.write_text(f"log_file = '{log}'\nstate = '{tmp_path / 's.sqlite'}'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "certsync", *map(str, _run_args(tmp_path, config))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == ExitCode.STATE, proc.stderr
    assert "lien symbolique" in proc.stderr and "Traceback" not in proc.stderr
    assert victim.read_text() == "keep\n"


def _run_args(base: Path, config: Path) -> list[str | Path]:
    certs = base / "certs"
    certs.mkdir(exist_ok=True)
    (certs / "a.cer").write_bytes(b"x")
    roster = write_csv(base / "agents.csv", [ROW])
    return ["run", "--roster", roster, "--certs", certs, "--dry-run", "--config", config]


def _cli(args: list[str | Path]) -> int:
    return cli.main([str(a) for a in args])


def test_unwritable_state_folder_exits_73_in_french(tmp_path: Path) -> None:
    base = world_dir(tmp_path)
    locked_dir = base / "var"
    locked_dir.mkdir(mode=0o555)
    locked_dir.chmod(0o555)  # not writable by the unprivileged user
    config = base / "c.toml"
    config.write_text(
        f"state = '{locked_dir / 'certsync.sqlite'}'\nlog_file = '{base / 'log' / 'c.log'}'\n"
        f"status_file = '{base / 'status.json'}'\n"
    )
    args = [*_run_args(base, config), "--report-dir", base / "r"]
    code, err = as_nobody(_cli, args)
    assert code == ExitCode.STATE == 73, err
    assert "verrou" in err and "Traceback" not in err


def test_state_folder_under_a_file_exits_73(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    config = tmp_path / "c.toml"
    config.write_text(f"state = '{blocker / 'certsync.sqlite'}'\nlog_file = '{tmp_path / 'l'}'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "certsync", "history", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == ExitCode.STATE, proc.stderr
    assert "ne peut pas être créé" in proc.stderr and "Traceback" not in proc.stderr


# -- a state that lost its history --------------------------------------------------------------


def test_empty_state_file_is_set_aside_and_refused(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    state.write_bytes(b"")
    with pytest.raises(StateError) as raised:
        StateStore.open(state)
    assert raised.value.exit_code == ExitCode.STATE
    assert "perdu son historique" in raised.value.message and "0 octet" in raised.value.message
    kept = list(tmp_path.glob("certsync.sqlite.damaged-*"))
    assert len(kept) == 1 and kept[0].stat().st_size == 0
    assert not state.exists()
    # The next run does not silently start over either: only with --new-state.
    with pytest.raises(StateError, match="new-state"):
        StateStore.open(state)
    StateStore.open(state, new_state=True).close()
    assert state.stat().st_size > 0


_KILLED_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from certsync.state import StateStore
store = StateStore.open(Path(sys.argv[1]))
store.begin_run(run_id="r-lost", command="run", started=datetime.now(UTC), parameters={})
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_deleted_wal_is_reported_not_silently_forgotten(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(state)], check=False)
    assert proc.returncode == -signal.SIGKILL
    wal = Path(f"{state}-wal")
    assert wal.stat().st_size > 0  # the run's row is only in the WAL
    wal.unlink()
    with pytest.raises(StateError, match="-wal a disparu"):
        StateStore.open(state)
    assert list(tmp_path.glob("certsync.sqlite.damaged-*"))


def test_a_short_wal_is_left_to_sqlite_recovery(tmp_path: Path) -> None:
    # A power cut with synchronous=NORMAL may lose the WAL's last frames: SQLite's recovery
    # drops the last commits, which is no reason to set the state aside.
    state = tmp_path / "certsync.sqlite"
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(state)], check=False)
    assert proc.returncode == -signal.SIGKILL
    wal = Path(f"{state}-wal")
    with wal.open("r+b") as handle:
        handle.truncate(wal.stat().st_size // 2)
    StateStore.open(state).close()
    assert not list(tmp_path.glob("*.damaged-*"))


def test_state_without_tables_is_reported(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    db = sqlite3.connect(state)
    db.execute("PRAGMA journal_mode = WAL")  # what an older run left when its WAL was lost
    db.close()
    assert state.stat().st_size > 0
    with pytest.raises(StateError, match="aucune table"):
        StateStore.open(state)


def test_empty_state_file_exits_73_from_the_cli(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    state.write_bytes(b"")
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "a.cer").write_bytes(b"x")
    roster = write_csv(tmp_path / "agents.csv", [ROW])
    command = [sys.executable, "-m", "certsync", "run", "--roster", str(roster)]
    command += ["--certs", str(certs), "--dry-run", "--state", str(state)]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == ExitCode.STATE, proc.stderr
    assert "perdu son historique" in proc.stderr
    proc = subprocess.run(
        [*command, "--new-state", "--report-dir", str(tmp_path / "r")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (ExitCode.OK, ExitCode.FINDINGS), proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_two_runs_through_links_to_one_state_never_push_together(
    tmp_path: Path, pki, monkeypatch, link: str
) -> None:
    from certsync.sandbox import start_sandbox
    from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials

    env = {**os.environ, "CERTSYNC_USER": DEMO_USER, "CERTSYNC_PASSWORD": DEMO_PASSWORD}
    # Slow enough (6 agents, 400 ms per request, one at a time) that the first run still holds
    # the lock when the second one, started after its first write, gets there.
    people = [(f"Agent{i}", f"NOM{i}") for i in range(6)]
    rows = [{"Nom": n, "Prénom": p, "Courriel": f"{p}.{n}@ville.fr".lower()} for p, n in people]
    for i, (p, n) in enumerate(people):
        write_pem(tmp_path / "certs", f"{n}.cer", leaf_for(pki.chambersign_ca, p, n, slot=i % 4))
    (tmp_path / "trust.pem").write_bytes(pki.trust_pem())
    roster = write_csv(tmp_path / "agents.csv", rows)
    accounts = [{"email": r["Courriel"], "nom": r["Nom"], "prenom": r["Prénom"]} for r in rows]
    sandbox = start_sandbox(
        "socle", accounts=accounts, credentials=SandboxCredentials(), latency_ms=400
    )
    config = tmp_path / "c.toml"
    config.write_text("[platform]\nworkers = 1\n")
    state = tmp_path / "var" / "state.sqlite"
    StateStore.open(state).close()
    other = tmp_path / "other" / "state.sqlite"
    other.parent.mkdir()
    if link == "symlink":
        other.symlink_to(state)
    else:
        os.link(state, other)

    def spawn(path: Path, report: str) -> subprocess.Popen[str]:
        args = ["run", "--roster", roster, "--certs", tmp_path / "certs", "--trust"]
        args += [tmp_path / "trust.pem", "--url", sandbox.url, "--as-of", "2026-03-01"]
        args += ["--state", path, "--report-dir", tmp_path / report, "--config", config]
        command = [sys.executable, "-m", "certsync", *map(str, args)]
        return subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    try:
        first = spawn(state, "r1")
        deadline = time.monotonic() + 60
        while not any(int(a["writes"]) for a in sandbox.accounts()):  # type: ignore[call-overload]
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.02)
        second = spawn(other, "r2")
        _out, err = second.communicate(timeout=60)
        still_running = first.poll() is None
        assert second.returncode == ExitCode.LOCKED, (still_running, err)
        assert first.wait(timeout=120) == ExitCode.OK
        writes = [int(a["writes"]) for a in sandbox.accounts()]  # type: ignore[call-overload]
    finally:
        sandbox.stop()
    assert writes == [1] * len(people)
