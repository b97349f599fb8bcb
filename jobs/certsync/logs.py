"""Logging set up once (readable on a terminal, JSON lines elsewhere), progress, status file."""

from __future__ import annotations

import errno
import json
import logging
import logging.config
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from certsync import __version__
from certsync.errors import ExitCode, StateError
from certsync.fsutil import atomic_path

LOGGER = "certsync"

#: Environment variables whose values must never appear in a log line.
SECRET_ENV = ("CERTSYNC_PASSWORD", "CERTSYNC_TOKEN", "CERTSYNC_SMTP_PASSWORD")

_MASK = "***"
_extra_secrets: set[str] = set()
_console: Console | None = None
"""The terminal console when progress bars are wanted, else None."""


# Attributes every LogRecord has; anything else was passed with `extra=` and goes into JSON.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


#: Shorter values are not masked: replacing every "y" or "ab" in every line would make the
#: logs unreadable (paths, names, JSON keys), and a secret that short is no secret anyway.
MIN_SECRET_LENGTH = 4


def add_secret(value: str) -> None:
    """Mask this value too (a password or token read from a file rather than the environment)."""
    if len(value) >= MIN_SECRET_LENGTH:
        _extra_secrets.add(value)


def _secrets() -> list[str]:
    # Read the environment at each call: a secret may be set after logging was configured.
    found = {os.environ.get(name, "") for name in SECRET_ENV} | _extra_secrets
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    """The text with every known credential value replaced by ***."""
    for secret in _secrets():
        text = text.replace(secret, _MASK)
    return text


class RedactFilter(logging.Filter):
    """Mask credentials in the message, the extra fields and the traceback of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets():
            return True
        record.msg, record.args = redact(record.getMessage()), ()
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRS)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class NoFollowFileHandler(logging.FileHandler):
    """A FileHandler that never opens its file through a symbolic link (a planted link would
    make certsync append to, or create, a file of the attacker's choosing)."""

    def _open(self) -> Any:
        return open(self.baseFilename, self.mode, encoding=self.encoding, opener=nofollow_opener)


def nofollow_opener(path: str, flags: int) -> int:
    """os.open for open(opener=...): refuse a link as the last component."""
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def check_log_file(path: Path) -> None:
    """Refuse a log file that is a link or cannot be written, in French (exit 73)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        why = (
            "c'est un lien symbolique (refusé par sécurité)"
            if exc.errno == errno.ELOOP
            else exc.strerror or str(exc)
        )
        raise StateError(
            f"Le journal {path} ne peut pas être ouvert : {why}.",
            hint="Vérifiez le réglage « log_file » : le journal doit être un fichier ordinaire "
            "que l'utilisateur qui lance certsync peut écrire.",
        ) from None
    os.close(fd)


def _rich_handler() -> logging.Handler:
    # French date form (rich's default, the locale's %x, prints 12/01/26 for 1 December 2026).
    return RichHandler(
        console=_console,
        show_path=False,
        markup=False,
        rich_tracebacks=False,
        log_time_format="[%d/%m/%Y %H:%M:%S]",
    )


def logging_config(
    *, log_file: Path, quiet: bool = False, verbose: bool = False, tty: bool = False
) -> dict[str, Any]:
    """The dictConfig for the `certsync` logger (other libraries' loggers are left alone)."""
    console_level = "WARNING" if quiet else ("DEBUG" if verbose else "INFO")
    console: dict[str, Any] = (
        {"()": _rich_handler}
        if tty
        else {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json"}
    )
    console.update(level=console_level, filters=["redact"])
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "console": console,
            "file": {
                "()": NoFollowFileHandler,
                "filename": str(log_file),
                "encoding": "utf-8",
                "formatter": "json",
                # The file is the developer's log: stage timings (DEBUG) always go there.
                "level": "DEBUG",
                "filters": ["redact"],
            },
        },
        "loggers": {
            LOGGER: {"handlers": ["console", "file"], "level": "DEBUG", "propagate": False}
        },
    }


def configure_logging(
    *,
    log_file: Path,
    quiet: bool = False,
    verbose: bool = False,
    console: Console | None = None,
) -> None:
    """Configure logging for a run; `console` defaults to stderr, a terminal or not."""
    global _console
    console = console or Console(stderr=True)
    tty = console.is_terminal
    # Progress bars and the rich handler must share one console so log lines print above bars.
    _console = console if tty else None
    check_log_file(log_file)
    config = logging_config(log_file=log_file, quiet=quiet, verbose=verbose, tty=tty)
    if not tty:
        config["handlers"]["console"]["stream"] = console.file
    logging.config.dictConfig(config)
    if quiet:
        _console = None


COUNT_LABELS = {
    "agents": "agents",
    "blocking": "constats bloquants",
    "files": "fichiers",
    "pushed": "déposés",
    "would_push": "à déposer",
    "unchanged": "inchangés",
    "blocked": "bloqués",
    "no_certificate": "sans certificat",
    "failed": "en échec",
    "no_account": "comptes absents",
    "pending": "en attente",
    "restored": "restaurés",
    "sent": "envoyés",
    "interrupted": "interrompu",
}


def summary_line(
    *,
    run_id: str,
    command: str,
    exit_code: int,
    counts: Mapping[str, int],
    started: datetime,
    ended: datetime,
) -> str:
    """Log (and return) the one line that sums up a run, in the log file only."""
    seconds = (ended - started).total_seconds()
    parts = ", ".join(f"{COUNT_LABELS.get(k, k)} : {v}" for k, v in counts.items())
    duration = f"{seconds:.1f}".replace(".", ",")
    text = f"certsync {command} {run_id} terminé (code {exit_code}) en {duration} s"
    if parts:
        text += f" — {parts}"
    # The administrator already reads a French summary (or the French error) on the terminal:
    # this line is for the log file only (monitoring reads status.json).
    level = logging.DEBUG
    logging.getLogger(LOGGER).log(
        level,
        text,
        extra={
            "run_id": run_id,
            "command": command,
            "exit_code": exit_code,
            "counts": dict(counts),
        },
    )
    return text


def write_status(
    path: Path,
    *,
    run_id: str,
    exit_code: int,
    counts: Mapping[str, int],
    report_path: Path | str | None,
    started: datetime,
    ended: datetime,
    findings: Mapping[str, int] | None = None,
) -> None:
    """Write the monitoring status file (a check alerts when it is too old or not ok).

    `ok` says the run worked (it went to its end, with or without findings); `findings` says
    what it found, and how much of it is new since the previous run.
    """
    try:
        exit_name = ExitCode(exit_code).name
    except ValueError:
        exit_name = "UNKNOWN"
    status = {
        "run_id": run_id,
        "exit_code": exit_code,
        "exit_name": exit_name,
        "ok": exit_code in (ExitCode.OK, ExitCode.FINDINGS),
        "has_findings": exit_code == ExitCode.FINDINGS,
        "findings": dict(findings) if findings is not None else None,
        "counts": dict(counts),
        "report_path": str(report_path) if report_path is not None else None,
        "started": started.isoformat(),
        "ended": ended.isoformat(),
        "duration_seconds": round((ended - started).total_seconds(), 3),
        "host": socket.gethostname(),
        "version": __version__,
    }
    with atomic_path(path) as tmp:
        tmp.write_bytes((json.dumps(status, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        # mkstemp makes the file 0600; the monitoring agent often runs as another user.
        tmp.chmod(0o644)


def progress_console() -> Console | None:
    """The terminal console progress bars draw on, or None (not a terminal, or --quiet)."""
    return _console
