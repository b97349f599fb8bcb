"""Progress: bars with rate and time left on a real terminal (a pseudo-terminal), a periodic
line in the log otherwise; one French summary, no WARNING label."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from rich.console import Console

from certsync.logs import configure_logging
from certsync.meter import Meter
from tests.commands.test_safe_runs import ENV, Site

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _in_terminal(args: list[str], cwd: Path) -> str:
    """Run the CLI with its standard streams on a pseudo-terminal; return what it showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = {**os.environ, **ENV, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "certsync", *args],
        stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode("utf-8", "replace")
    # Each redraw of the bars starts with a cursor move: make each one a line of its own.
    return _ANSI.sub("", re.sub(r"\x1b\[\d*[AFK]|\r", "\n", text))


@pytest.mark.slow
def test_progress_bars_with_rate_on_a_terminal_and_one_summary(tmp_path, pki, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    site = Site(tmp_path, pki, latency_ms=40)
    try:
        shown = _in_terminal(site.args("--report-dir", "r1"), tmp_path)
    finally:
        site.sandbox.stop()
    for stage in ("Lecture et vérification des fichiers", "Lecture des comptes", "Dépôt"):
        assert re.search(rf"{stage} .*\d+/\d+ .*\d+,\d/s", shown), (stage, shown)
    assert re.search(r"Relecture .*4/4", shown), shown
    assert shown.count("certsync — exécution") == 1  # one summary, not two
    assert "WARNING" not in shown and "terminé (code" not in shown
    assert not re.search(r"\b\d\d/\d\d/\d\d\b", shown)  # no 12/01/26-style dates


def test_without_a_terminal_progress_is_a_periodic_log_line(tmp_path):
    out = io.StringIO()
    configure_logging(log_file=tmp_path / "certsync.log", console=Console(file=out))
    now = [0.0]
    with Meter(every=10.0, clock=lambda: now[0]) as meter:
        meter.start("push", "Dépôt", 100)
        for _ in range(50):
            now[0] += 0.5
            meter.advance("push")
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    progress = [x for x in lines if x["logger"] == "certsync.progress"]
    # One line after 10 s, one after 20 s, the last one at the end of the stage.
    assert [(x["done"], x["total"]) for x in progress] == [(20, 100), (40, 100), (50, 100)]
    assert progress[0]["message"] == "progress: Dépôt 20/100 (2.0/s, about 40 s left)"


def test_a_short_stage_logs_no_progress_line(tmp_path):
    out = io.StringIO()
    configure_logging(log_file=tmp_path / "certsync.log", console=Console(file=out))
    now = [0.0]
    with Meter(every=30.0, clock=lambda: now[0]) as meter:
        meter.start("files", "Lecture", 10)
        now[0] += 1.0
        meter.advance("files", 10)
    assert out.getvalue() == ""
