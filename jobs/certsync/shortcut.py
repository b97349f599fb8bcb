"""The nightly shortcut: a run whose inputs have not changed reuses the last result as it is.

The inputs are fingerprinted (roster, every certificate file's size and date, trust store,
decisions, settings, platform); the result of a run stays true until the next date at which a
certificate starts, expires or enters the "expires soon" window. A run that left work to do
(certificates still to push, failures to retry) is never reused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from certsync import __version__
from certsync.certfiles.scan import Entry
from certsync.config import Config
from certsync.fsutil import atomic_path
from certsync.ingest import Checked
from certsync.records import AgentStatus, RunResult
from certsync.state import RunSummary, StateStore
from certsync.trust import TrustStore

# A run that pushed is not reused either: the next run would say "unchanged", not "pushed".
_UNSETTLED = {
    AgentStatus.WOULD_PUSH,
    AgentStatus.FAILED,
    AgentStatus.PUSHED,
    AgentStatus.NO_ACCOUNT,
}


def _stat(path: Path | None) -> list[object]:
    if path is None:
        return [None]
    try:
        st = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def fingerprint(
    *,
    roster: Path,
    sheet: str | None,
    certs: Path,
    entries: Sequence[Entry],
    config: Config,
    dry_run: bool,
    create_missing: bool,
    extra: str = "",
) -> str:
    """A digest of everything a run's result depends on, apart from the date; `extra` is a
    digest of other inputs (the decisions kept in the state)."""
    digest = hashlib.sha256()
    head = {
        "version": __version__,
        "roster": _stat(roster),
        "sheet": sheet,
        "certs": str(certs.resolve()),
        "trust": _stat(config.trust),
        "decisions": _stat(config.decisions),
        "config": json.dumps(asdict(config), default=str, sort_keys=True),
        "dry_run": dry_run,
        "create_missing": create_missing,
        "extra": extra,
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    for e in entries:
        digest.update(f"\n{e.rel}\0{e.size}\0{e.mtime_ns}\0{int(e.outside)}".encode())
    return digest.hexdigest()


def valid_until(
    checked: Iterable[Checked], as_of: dt.datetime, config: Config, trust: TrustStore | None
) -> dt.datetime | None:
    """The first instant after `as_of` at which some finding could change (None: never).

    A certificate already in its "expires soon" window changes its message every day, so the
    result then holds until the next day only.
    """
    soon = dt.timedelta(days=config.policy.expires_soon_days)
    next_day = dt.datetime.combine(as_of.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    moments: list[dt.datetime] = []
    for item in checked:
        cert = item.file.cert
        if cert is None:
            continue
        for c in (cert, *item.file.chain):
            moments += [c.not_before, c.not_after, c.not_after - soon]
            if c.not_after - soon <= as_of < c.not_after:
                moments.append(next_day)
    if trust is not None:
        for ca in (*trust.anchors, *trust.intermediates):
            moments += [ca.not_valid_before_utc, ca.not_valid_after_utc]
    later = [m for m in moments if m > as_of]
    return min(later) if later else None


def settled(result: RunResult, config: Config) -> bool:
    """Whether the run left nothing to do: a later identical run would change nothing."""
    if config.policy.crl_fetch or config.policy.crl_files:
        return False  # revocation lists change on their own schedule
    if result.stop_code is not None:
        return False
    if result.dry_run:
        # A dry run that read the platform depends on it; an offline one does not.
        return not config.platform.url
    return not any(a.status in _UNSETTLED for a in result.agents)


def reuse_previous(
    store: StateStore, fingerprint: str, *, as_of: dt.datetime, run_id: str, report_dir: Path
) -> RunSummary | None:
    """The previous run whose result still holds, its report copied under this run's id.

    None when no run with the same inputs is reusable, or when its report is gone.
    """
    previous = store.reusable_run(fingerprint, as_of)
    if previous is None or not _copy_report(previous, run_id, report_dir):
        return None
    return previous


_REPORT_NAMES = ("exceptions.xlsx", "exceptions.csv", "agents.csv", "report.json")


def _copy_report(previous: RunSummary, run_id: str, report_dir: Path) -> bool:
    """Copy the previous run's report under this run's id; False if it is gone."""
    source = Path(previous.report_path or "")
    if not all((source / name).is_file() for name in _REPORT_NAMES):
        return False
    report_dir.mkdir(parents=True, exist_ok=True)
    for name in _REPORT_NAMES[:3]:
        with atomic_path(report_dir / name) as tmp:
            shutil.copyfile(source / name, tmp)
    # report.json starts with its run id on the second line: patch it and stream the rest.
    with (source / "report.json").open("rb") as src, atomic_path(report_dir / "report.json") as tmp:
        first, old_line = src.readline(), src.readline()
        if not old_line.startswith(b'"run_id":'):
            return False
        line = f'"run_id":{json.dumps(run_id)},\n"reused_from":{json.dumps(previous.run_id)},\n'
        with tmp.open("wb") as out:
            out.write(first + line.encode())
            shutil.copyfileobj(src, out)
    return True
