"""Tests for the single-instance lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certsync.errors import ExitCode, LockedError
from certsync.lock import RunLock, lock_path

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)

_HOLDER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from certsync.lock import RunLock

started = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
lock = RunLock(Path(sys.argv[1]), run_id="run-held", started=started)
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def _hold_in_subprocess(state: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(state)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_writes_holder_and_releases(tmp_path: Path) -> None:
    state = tmp_path / "var" / "certsync.sqlite"
    with RunLock(state, run_id="r1", started=NOW) as lock:
        assert lock.path == lock_path(state) == tmp_path / "var" / "certsync.sqlite.lock"
        holder = json.loads(lock.path.read_text())
        assert holder["pid"] == os.getpid()
        assert (holder["started"], holder["run_id"]) == (NOW.isoformat(), "r1")
    assert lock.path.exists()  # never unlinked, see RunLock.acquire
    with RunLock(state, run_id="r2", started=NOW):
        pass


def test_second_acquisition_in_process_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    with RunLock(state, run_id="r1", started=NOW), pytest.raises(LockedError) as raised:
        RunLock(state, run_id="r2", started=NOW).acquire()
    assert raised.value.exit_code == ExitCode.LOCKED == 75
    assert f"processus {os.getpid()}" in raised.value.message
    assert "27/11/2026 à 05:00:00" in raised.value.message


def test_live_holder_blocks_and_is_named(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    proc = _hold_in_subprocess(state)
    try:
        with pytest.raises(LockedError) as raised:
            RunLock(state, run_id="r2", started=NOW).acquire()
        assert f"processus {proc.pid}" in raised.value.message
        assert "04:00:00" in raised.value.message
        assert "run-held" in raised.value.message
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_lock_of_killed_process_does_not_block(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    proc = _hold_in_subprocess(state)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert str(proc.pid) in lock_path(state).read_text()  # stale details remain, harmlessly
    with RunLock(state, run_id="r2", started=NOW) as lock:
        assert json.loads(lock.path.read_text())["run_id"] == "r2"


def test_holder_details_missing_still_refuses(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    with RunLock(state, run_id="r1", started=NOW) as lock:
        lock.path.write_text("")
        with pytest.raises(LockedError, match="processus inconnu"):
            RunLock(state, run_id="r2", started=NOW).acquire()
