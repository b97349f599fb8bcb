"""What every command shares: configuration with overrides, the clock, run ids, logging."""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from certsync.config import Config, default_data_dir, load_config
from certsync.errors import CertsyncError, ExitCode, Interrupted
from certsync.frenchfmt import fr_int
from certsync.housekeeping import rotate_log
from certsync.lock import RunLock
from certsync.logs import configure_logging, summary_line, write_status
from certsync.outputs import Outputs
from certsync.state import StateStore
from certsync.urls import check_url


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
        return default_data_dir() / "certsync-crash.log"


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
        platform = replace(platform, url=check_url(args.url))
    if getattr(args, "workers", None):
        platform = replace(platform, workers=args.workers)
    return replace(config, platform=platform)


def prepare_outputs(
    config: Config,
    *,
    now: dt.datetime,
    report_dir: Path | None = None,
    status_file: bool = False,
) -> Outputs:
    """Check (and create) everything the command will write, then start the day's log.

    Called before the platform is contacted: a report or state that cannot be written stops
    the command here (exit 73), not after the pushes.
    """
    outputs = Outputs(
        state=config.state,
        log_file=config.log_file,
        status_file=config.status_file if status_file else None,
        report_dir=report_dir,
    ).check()
    rotate_log(config.log_file, keep_days=config.keep_days, now=now)
    return outputs


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
    findings: dict[str, int] | None = None
    """Blocking findings and problems new since the last run, for the status file."""


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
            # Recorded as interrupted (history marks it), not as an internal error, with what
            # was already written.
            record.code = ExitCode.INTERRUPTED
            raise _interrupted(record, command) from None
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
                    findings=record.findings,
                )
            summary_line(
                run_id=run_id,
                command=command,
                exit_code=code,
                counts=counts,
                started=started,
                ended=ended,
            )


def _interrupted(record: Recorded, command: str) -> Interrupted:
    """Ctrl-C: record what was already written, and tell the administrator."""
    try:
        writes = len(record.store.audit_for_run(record.run_id))
    except CertsyncError:
        writes = -1
    record.counts = {**record.counts, "interrupted": 1}
    if writes >= 0:
        record.counts["pushed"] = writes
    if writes > 0:
        done = (
            f"{fr_int(writes)} compte(s) avaient déjà été modifiés ; chaque écriture est dans "
            "le journal d'audit du fichier d'état"
        )
    elif writes == 0:
        done = "aucun compte n'avait été modifié"
    else:
        done = "le fichier d'état n'a pas pu dire ce qui avait déjà été écrit"
    what = "le traitement" if command == "run" else f"la commande {command}"
    return Interrupted(
        f"Interrompu (Ctrl-C) : {what} {record.run_id} s'est arrêté ; {done}. "
        "Aucun rapport n'a été écrit.",
        hint="Relancez la même commande : ce qui est déjà en place ne sera pas réécrit. "
        "« certsync history » montre cette exécution"
        + (f", « certsync rollback {record.run_id} » la défait." if writes > 0 else "."),
    )
