"""A recorded run from its inputs to its reports: the shortcut, the run, the reports, the memory.

`certsync run` parses its options into a `RunOrder` and calls `run_and_report`, which either
reuses the previous run's result (nothing changed) or runs the pipeline, writes the reports
and remembers the inputs for the next night; the command then only prints.
"""

from __future__ import annotations

import datetime as dt
import errno
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from certsync import shortcut
from certsync.certfiles.scan import Entry, list_files
from certsync.config import Config
from certsync.decisionbook import decisions_digest
from certsync.errors import CertsyncError, ExitCode, OutputError
from certsync.meter import Meter
from certsync.novelty import new_problems
from certsync.pipeline import Hooks, RunRequest, run
from certsync.push import Selection
from certsync.records import RunResult
from certsync.report import write_reports
from certsync.report.mail import previous_report, recipients
from certsync.state import FileCache, RunSummary, StateStore
from certsync.timing import stage


@dataclass(frozen=True, slots=True)
class RunOrder:
    """What the administrator asked `certsync run` for, once parsed."""

    roster: Path
    certs: Path
    config: Config
    as_of: dt.datetime
    run_id: str
    report_dir: Path
    clock: Callable[[], dt.datetime]
    """Now, in UTC (the pusher's clock)."""
    sheet: str | None = None
    dry_run: bool = True
    create_missing: bool = False
    full: bool = False
    """Run in full even when nothing changed since the last run."""
    only: frozenset[str] | None = None
    limit: int | None = None

    @property
    def selective(self) -> bool:
        """Whether the pushes are limited to some agents (never reused, never reusable)."""
        return self.only is not None or self.limit is not None


class RunRecord(Protocol):
    """How the run ends, as recorded in the state and the status file (see commands.common)."""

    store: StateStore
    code: ExitCode
    counts: dict[str, int]
    report: Path | None
    findings: dict[str, int] | None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What the command prints: the result, or the previous run whose result was reused."""

    code: ExitCode
    reused: RunSummary | None = None
    result: RunResult | None = None
    """The result of a full run (None when reused)."""
    paths: dict[str, Path] = field(default_factory=dict)
    new: int = 0
    """Problems the last run did not report."""
    stopped: CertsyncError | None = None
    """The error that stopped the pushes early, if any (told on stderr)."""
    last: tuple[str, Mapping[str, Any]] | None = None
    """The last run's report, for the summary e-mail (read only when one is to be sent)."""


def exit_code_for(result: RunResult) -> ExitCode:
    """Map a run's result to the documented exit code."""
    if result.stop_code is not None:
        return ExitCode(result.stop_code)
    return ExitCode.FINDINGS if result.has_blocking else ExitCode.OK


def counts_of(result: RunResult) -> dict[str, int]:
    """Counts kept in the state, the status file and the summary line."""
    counts = Counter(str(a.status) for a in result.agents)
    counts["files"] = len(result.files)
    counts["blocking"] = sum(1 for f in result.all_findings if f.blocking)
    return dict(sorted(counts.items()))


def run_and_report(order: RunOrder, record: RunRecord) -> RunOutcome:
    """The previous result when nothing changed, else a full run with its reports written."""
    store, config = record.store, order.config
    entries = list_files(order.certs)
    fingerprint = shortcut.fingerprint(
        roster=order.roster,
        sheet=order.sheet,
        certs=order.certs,
        entries=entries,
        config=config,
        dry_run=order.dry_run,
        create_missing=order.create_missing,
        extra=decisions_digest(store),
    )
    if not (order.full or order.selective):
        previous = shortcut.reuse_previous(
            store, fingerprint, as_of=order.as_of, run_id=order.run_id, report_dir=order.report_dir
        )
        if previous is not None:
            _record_reused(record, previous, order.report_dir)
            return RunOutcome(record.code, reused=previous)
    result, stopped = full_run(order, store, entries)
    with stage("report"):
        paths = write_run_reports(result, order.report_dir)
    # Read only when a summary is to be sent: at 100,000 agents it is a large file.
    last = previous_report(store, order.run_id) if recipients(config) else None
    record.code = exit_code_for(result)
    record.counts = counts_of(result)
    record.report = order.report_dir.resolve()
    fresh = new_problems(result, config.state)
    record.findings = {"blocking": record.counts.get("blocking", 0), "new": fresh}
    store.record_inputs(
        order.run_id,
        fingerprint=fingerprint,
        as_of=order.as_of,
        valid_until=result.valid_until,
        settled=shortcut.settled(result, config),
    )
    return RunOutcome(record.code, None, result, paths, fresh, stopped, last)


def _record_reused(record: RunRecord, previous: RunSummary, report_dir: Path) -> None:
    record.code = ExitCode(previous.exit_code or 0)
    record.counts = dict(previous.counts)
    record.report = report_dir.resolve()
    record.findings = {"blocking": record.counts.get("blocking", 0), "new": 0}


def full_run(
    order: RunOrder, store: StateStore, entries: list[Entry]
) -> tuple[RunResult, CertsyncError | None]:
    """The run, and the error that stopped its pushes early, if any."""
    config, url = order.config, order.config.platform.url
    pusher = None
    if url:
        from certsync.push.recorded import make_pusher

        pusher = make_pusher(
            config,
            certs_root=order.certs,
            url=url,
            store=store,
            run_id=order.run_id,
            dry_run=order.dry_run,
            create_missing=order.create_missing,
            as_of=order.as_of,
            clock=order.clock,
            selection=Selection(order.only, order.limit),
        )
    with Meter() as meter:
        meter.start("files", "Lecture et vérification des fichiers", len(entries))

        def tick(n: int) -> None:
            meter.advance("files", n)

        if pusher is not None:
            pusher.meter = meter  # one display for the whole run: files, accounts, pushes
        hooks = Hooks(
            entries=entries,
            store=store,
            cache=FileCache.for_certs(store.path, order.certs),
            tick=tick,
            pusher=pusher,
        )
        result = run(_request(order), hooks)
    return result, (pusher.stop_error if pusher is not None else None)


def _request(order: RunOrder) -> RunRequest:
    """The pipeline's request, with the run's own lines for the report's parameters."""
    config, url = order.config, order.config.platform.url
    parameters = {
        "Plateforme": config.platform.name + (f" ({url})" if url else " (hors ligne)"),
        "Fichier d'état": str(config.state),
    }
    if order.selective:
        chosen = [", ".join(sorted(order.only))] if order.only else []
        chosen += [f"au plus {order.limit}"] if order.limit is not None else []
        parameters["Sélection (dépôt limité)"] = " ; ".join(chosen)
    return RunRequest(
        roster=order.roster,
        certs=order.certs,
        config=config,
        as_of=order.as_of,
        run_id=order.run_id,
        dry_run=order.dry_run,
        sheet=order.sheet,
        parameters=parameters,
    )


def write_run_reports(result: RunResult, report_dir: Path) -> dict[str, Path]:
    """The reports; a full disk or an unwritable folder is a clear stop (73), not an
    internal error: what was pushed is already in the state file."""
    try:
        return write_reports(result, report_dir)
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise OutputError(
            f"Le disque est plein : le rapport n'a pas pu être écrit dans {report_dir}."
            if full
            else f"Le rapport n'a pas pu être écrit dans {report_dir} ({exc.strerror or exc}).",
            hint="Les dépôts faits sont dans le fichier d'état (certsync history) et ne seront "
            "pas redéposés ; libérez de la place ou corrigez --report-dir puis relancez.",
        ) from exc
