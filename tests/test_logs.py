"""Tests for logging set-up, redaction, progress bars, the summary line and the status file."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from certsync import logs
from certsync.logs import (
    add_secret,
    configure_logging,
    redact,
    summary_line,
    write_status,
)

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
log = logging.getLogger("certsync.test")


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    logger = logging.getLogger("certsync")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    logs._console = None
    logs._extra_secrets.clear()


def _plain() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False), out


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


def _file_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_without_terminal_json_lines_on_stderr_and_file(tmp_path: Path) -> None:
    console, out = _plain()
    log_file = tmp_path / "var" / "log" / "certsync.log"
    configure_logging(log_file=log_file, console=console)
    log.info("read %d files", 3, extra={"run_id": "r1"})
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["message"] == "read 3 files"
    assert line["level"] == "INFO"
    assert line["run_id"] == "r1"
    assert line["logger"] == "certsync.test"
    assert _file_lines(log_file) == [line]


def test_on_terminal_readable_lines_and_json_file(tmp_path: Path) -> None:
    console, out = _terminal()
    log_file = tmp_path / "certsync.log"
    configure_logging(log_file=log_file, console=console)
    log.warning("Plateforme lente")
    text = out.getvalue()
    assert "Plateforme lente" in text
    assert "WARNING" in text
    assert not text.lstrip().startswith("{")
    assert _file_lines(log_file)[0]["message"] == "Plateforme lente"


def test_quiet_shows_only_warnings_but_file_keeps_info(tmp_path: Path) -> None:
    console, out = _plain()
    log_file = tmp_path / "certsync.log"
    configure_logging(log_file=log_file, console=console, quiet=True)
    log.info("détail")
    log.error("grave")
    assert [json.loads(x)["message"] for x in out.getvalue().splitlines()] == ["grave"]
    assert [x["message"] for x in _file_lines(log_file)] == ["détail", "grave"]


def test_credentials_never_reach_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTSYNC_PASSWORD", "s3cr3t-Pa55")
    monkeypatch.setenv("CERTSYNC_TOKEN", "tok-ABCDEF")
    add_secret("from-a-file")
    console, out = _plain()
    log_file = tmp_path / "certsync.log"
    configure_logging(log_file=log_file, console=console)
    log.info("login with %s", "s3cr3t-Pa55", extra={"header": "Bearer tok-ABCDEF"})
    try:
        raise RuntimeError("refused: from-a-file")
    except RuntimeError:
        log.exception("failed")
    written = out.getvalue() + log_file.read_text(encoding="utf-8")
    for secret in ("s3cr3t-Pa55", "tok-ABCDEF", "from-a-file"):
        assert secret not in written
    lines = _file_lines(log_file)
    assert lines[0]["message"] == "login with ***"
    assert lines[0]["header"] == "Bearer ***"
    assert "refused: ***" in str(lines[1]["traceback"])


def test_redact_without_secrets_is_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in logs.SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    assert redact("rien à masquer") == "rien à masquer"
    monkeypatch.setenv("CERTSYNC_TOKEN", "abc123")
    assert redact("token=abc123;") == "token=***;"


def test_summary_line(tmp_path: Path) -> None:
    console, out = _plain()
    log_file = tmp_path / "certsync.log"
    configure_logging(log_file=log_file, console=console, quiet=True)
    ok = summary_line(
        run_id="r1",
        command="run",
        exit_code=0,
        counts={"pushed": 3, "blocked": 0},
        started=NOW,
        ended=NOW + timedelta(seconds=12.25),
    )
    assert ok == "certsync run r1 terminé (code 0) en 12,2 s — déposés : 3, bloqués : 0"
    summary_line(run_id="r2", command="run", exit_code=1, counts={}, started=NOW, ended=NOW)
    summary_line(run_id="r3", command="run", exit_code=69, counts={}, started=NOW, ended=NOW)
    # The terminal shows the French summary or error instead: the line goes to the file only.
    assert out.getvalue() == ""
    assert [x["run_id"] for x in _file_lines(log_file)] == ["r1", "r2", "r3"]
    assert _file_lines(log_file)[0]["counts"] == {"pushed": 3, "blocked": 0}


def test_write_status_atomically(tmp_path: Path) -> None:
    path = tmp_path / "var" / "status.json"
    write_status(
        path,
        run_id="r1",
        exit_code=1,
        counts={"pushed": 2},
        report_path=tmp_path / "reports" / "r1",
        started=NOW,
        ended=NOW + timedelta(minutes=2),
    )
    status = json.loads(path.read_text(encoding="utf-8"))
    assert status["run_id"] == "r1"
    # The run worked (ok) and found something (has_findings): two different alarms.
    assert (status["exit_code"], status["exit_name"], status["ok"]) == (1, "FINDINGS", True)
    assert status["has_findings"] is True
    assert status["counts"] == {"pushed": 2}
    assert status["report_path"] == str(tmp_path / "reports" / "r1")
    assert status["ended"] == "2026-11-27T05:02:00+00:00"
    assert status["duration_seconds"] == 120
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["status.json"]
