"""What every command shares: configuration with overrides, the clock, run ids, logging."""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from certsync.config import Config, load_config
from certsync.errors import CertsyncError, ExitCode
from certsync.lock import RunLock
from certsync.logs import configure_logging, summary_line, write_status
from certsync.state import StateStore


def now_utc() -> dt.datetime:
    """The current instant (the only place a command reads the clock)."""
    return dt.datetime.now(dt.UTC)


def new_run_id(moment: dt.datetime) -> str:
    """A sortable, unique run identifier."""
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def crash_log_path(args: argparse.Namespace) -> Path:
    """Where internal errors' tracebacks go."""
    try:
        return load_config(getattr(args, "config", None)).log_file.with_name("certsync-crash.log")
    except Exception:
        return Path("var/certsync-crash.log")


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration file with command-line overrides applied."""
    config = load_config(getattr(args, "config", None))
    for name in ("trust", "decisions", "state"):
        value = getattr(args, name, None)
        if value is not None:
            config = replace(config, **{name: value})
    if getattr(args, "skip_chain_check", False):
        config = replace(config, policy=replace(config.policy, skip_chain_check=True))
    platform = config.platform
    if getattr(args, "platform", None):
        platform = replace(platform, name=args.platform)
    if getattr(args, "url", None):
        platform = replace(platform, url=args.url)
    if getattr(args, "workers", None):
        platform = replace(platform, workers=args.workers)
    return replace(config, platform=platform)


def setup_logging(config: Config, args: argparse.Namespace) -> None:
    """Logging for this command, configured once."""
    configure_logging(log_file=config.log_file, quiet=getattr(args, "quiet", False))


@dataclass(slots=True)
class Recorded:
    """A command's entry in the state; the body sets how it ended."""

    store: StateStore
    run_id: str
    started: dt.datetime
    code: ExitCode = ExitCode.INTERNAL
    """Exit code to record; an error that stops the command sets its own."""
    counts: dict[str, int] = field(default_factory=dict)
    report: Path | None = None


@contextmanager
def recorded_run(
    config: Config,
    *,
    command: str,
    run_id: str,
    started: dt.datetime,
    parameters: dict[str, object],
    status_file: bool = False,
    new_state: bool = False,
) -> Iterator[Recorded]:
    """Hold the lock, record the command in the state, and always record how it ended.

    The end goes to the state (history), the summary log line and, for `run`, the
    monitoring status file, whether the command succeeded, found problems or stopped on an
    error.
    """
    with (
        RunLock(config.state, run_id=run_id, started=started) as lock,
        StateStore.open(config.state, new_state=new_state) as store,
    ):
        lock.pin()  # a state file created just now is locked by identity too
        store.begin_run(run_id=run_id, command=command, started=started, parameters=parameters)
        record = Recorded(store, run_id, started)
        try:
            yield record
        except CertsyncError as exc:
            record.code = exc.exit_code
            raise
        except KeyboardInterrupt:
            # Recorded as interrupted (history marks it), not as an internal error.
            record.code = ExitCode.INTERRUPTED
            raise
        finally:
            ended = now_utc()
            code, counts = int(record.code), record.counts
            store.end_run(
                run_id, ended=ended, exit_code=code, counts=counts, report_path=record.report
            )
            if status_file:
                write_status(
                    config.status_file,
                    run_id=run_id,
                    exit_code=code,
                    counts=counts,
                    report_path=record.report,
                    started=started,
                    ended=ended,
                )
            summary_line(
                run_id=run_id,
                command=command,
                exit_code=code,
                counts=counts,
                started=started,
                ended=ended,
            )
