"""Reading a run's inputs at once: the roster in a thread while the workers read the files.

The ingest workers keep both cores busy; the main process would otherwise only wait for them,
so it matches each batch of files as it arrives, once the roster is ready. Each file is
decided on its own, so the result is the same as matching at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from certsync.assign import EXCLUDED_ROW_CODES
from certsync.certfiles.scan import Entry
from certsync.config import Config
from certsync.ingest import Checked, CheckSetup, read_and_check
from certsync.match import AdminDecision, Matcher, MatchResult
from certsync.records import Roster
from certsync.roster import read_roster, resolve_file_ref
from certsync.timing import stage
from certsync.trust import TrustStore


@dataclass(frozen=True, slots=True)
class Inputs:
    """The roster and every file read and validated, with what was matched while reading."""

    roster: Roster
    checked: list[Checked]
    file_refs: dict[int, str]
    """Roster row → the file its « Fichier » column names (resolved under the folder)."""
    matcher: Matcher | None = None
    """The matcher built while reading (None: the roster was ready too late)."""
    parts: list[MatchResult] = field(default_factory=list)
    """What the matcher found for the batches matched while reading."""
    done: frozenset[str] = frozenset()
    """The files already matched (their paths)."""


class _EarlyMatching:
    """Matches each batch of files as it is read, once the roster (read meanwhile) is ready."""

    def __init__(self, roster: Future[Roster], certs: Path, decisions: Mapping[str, AdminDecision]):
        self.roster = roster
        self.certs = certs
        self.decisions = decisions
        self.matcher: Matcher | None = None
        self.file_refs: dict[int, str] = {}
        self.parts: list[MatchResult] = []
        self.done: set[str] = set()

    def on_chunk(self, chunk: Sequence[Checked]) -> None:
        if not self.roster.done():
            return  # these files are matched at the end
        roster = self.roster.result()  # raises the roster's error now, stopping the ingest
        if self.matcher is None:
            self.file_refs = file_refs(roster, self.certs)
            self.matcher = make_matcher(roster, self.file_refs, self.decisions)
        self.parts.append(self.matcher.match(c.file for c in chunk))
        self.done.update(c.file.path for c in chunk)


def read_inputs(
    roster_path: Path,
    certs: Path,
    *,
    sheet: str | None,
    config: Config,
    setup: CheckSetup,
    trust: TrustStore | None,
    decisions: Mapping[str, AdminDecision],
    entries: Sequence[Entry] | None = None,
    tick: Callable[[int], None] | None = None,
) -> Inputs:
    """The roster and the certificate folder, read together, matched as far as possible."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster") as background:
        roster_future = background.submit(
            read_roster, roster_path, sheet=sheet, limits=config.limits, certs_root=certs
        )
        early = _EarlyMatching(roster_future, certs, decisions)
        with stage("ingest"):
            checked = read_and_check(
                certs,
                limits=config.limits,
                setup=setup,
                trust=trust,
                workers=config.read_workers,
                tick=tick,
                entries=entries,
                on_chunk=early.on_chunk,
            )
        roster = roster_future.result()
    if early.matcher is None:
        return Inputs(roster, checked, file_refs(roster, certs))
    return Inputs(
        roster, checked, early.file_refs, early.matcher, early.parts, frozenset(early.done)
    )


def file_refs(roster: Roster, certs: Path) -> dict[int, str]:
    """Roster row → the file its « Fichier » column names, when that file exists."""
    refs: dict[int, str] = {}
    for agent in roster.agents:
        if agent.file_ref:
            resolved = resolve_file_ref(certs, agent.file_ref)
            if resolved is not None:
                refs[agent.row] = resolved
    return refs


def make_matcher(
    roster: Roster, refs: dict[int, str], decisions: Mapping[str, AdminDecision]
) -> Matcher:
    """A matcher over the roster's eligible rows (rows excluded by their findings are not)."""
    excluded = {
        f.row for f in roster.findings if f.code in EXCLUDED_ROW_CODES and f.row is not None
    }
    eligible = [a for a in roster.agents if a.row not in excluded]
    return Matcher(eligible, file_refs=refs, decisions=decisions)
