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
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from certsync import __version__
from certsync.certfiles.scan import Entry
from certsync.config import Config
from certsync.ingest import Checked
from certsync.records import AgentStatus, RunResult
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
