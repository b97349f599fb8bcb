"""The run as a table of contents: read, match, validate, de-duplicate, plan, push, report."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from certsync.assign import EXCLUDED_ROW_CODES, decide, deduplicate_files
from certsync.certfiles.scan import Entry
from certsync.config import Config
from certsync.connectors.credentials import exposed_secret_files
from certsync.decisionbook import stored_decisions
from certsync.decisions import read_decisions
from certsync.errors import InputError
from certsync.findings import Finding
from certsync.french import plural
from certsync.ingest import Checked, CheckSetup, make_validator, read_and_check
from certsync.match import Decision, Matcher, MatchResult, combine
from certsync.records import AgentResult, Roster, RunResult
from certsync.roster import read_roster
from certsync.shortcut import valid_until
from certsync.state import StateStore
from certsync.trust import TrustStore, load_trust

log = logging.getLogger("certsync.pipeline")

#: Pushes (or, in a dry run, plans) the decided agents; returns the updated agent results and
#: the exit code that stopped the pushes early, if any (breaker open, credentials refused…).
Pusher = Callable[[list[AgentResult], Sequence[Checked]], tuple[list[AgentResult], int | None]]


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What the administrator asked for."""

    roster: Path
    certs: Path
    config: Config
    as_of: datetime
    run_id: str
    dry_run: bool = True
    sheet: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hooks:
    """Optional collaborators: the state's file cache, progress reporting, the pusher."""

    entries: Sequence[Entry] | None = None
    """The certificate folder's listing, when the caller already made it."""
    known: Mapping[str, tuple[int, int]] | None = None
    """Files the state's cache holds, with their size and date."""
    store: StateStore | None = None
    """The state, whose file cache receives newly read files."""
    cache_folder: str = ""
    """The certificate folder's key in the file cache."""
    tick: Callable[[int], None] | None = None
    pusher: Pusher | None = None


def check_inputs(roster: Path, certs: Path) -> None:
    """Refuse missing inputs with a French message before anything else happens."""
    if not roster.exists():
        raise InputError(
            f"Liste des agents introuvable : {roster}.",
            hint="Vérifiez le chemin donné à --roster (fichier .xlsx ou .csv).",
        )
    if not certs.is_dir():
        what = "n'est pas un dossier" if certs.exists() else "est introuvable"
        raise InputError(
            f"Le dossier des certificats {certs} {what}.",
            hint="Donnez à --certs le dossier où sont rangés les fichiers reçus des agents.",
        )


def load_trust_store(config: Config) -> TrustStore | None:
    """The configured trust store, or None when none is given."""
    return load_trust(config.trust) if config.trust is not None else None


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log how long a stage took (developer log, English)."""
    started = time.perf_counter()
    yield
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log.debug(
        "stage %s took %.3f s (peak RSS so far %.0f MB)",
        name,
        time.perf_counter() - started,
        peak_mb,
        extra={"stage": name, "peak_rss_mb": round(peak_mb)},
    )


class _EarlyMatching:
    """Matches each batch of files as it is read, once the roster (read meanwhile) is ready.

    The ingest workers keep both cores busy; this process would otherwise only wait for them.
    Each file is decided on its own, so the result is the same as matching at the end.
    """

    def __init__(self, roster: Future[Roster], certs: Path, decisions: dict[str, Decision]):
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
            self.file_refs = _file_refs(roster, self.certs)
            self.matcher = _matcher(roster, self.file_refs, self.decisions)
        self.parts.append(self.matcher.match(c.file for c in chunk))
        self.done.update(c.file.path for c in chunk)


def _matcher(roster: Roster, file_refs: dict[int, str], decisions: dict[str, Decision]) -> Matcher:
    excluded = _excluded_rows(roster)
    eligible = [a for a in roster.agents if a.row not in excluded]
    return Matcher(eligible, file_refs=file_refs, decisions=decisions)


def run(request: RunRequest, hooks: Hooks | None = None) -> RunResult:
    """Execute one run and return its result; never prints, never exits."""
    hooks = hooks or Hooks()
    config = request.config
    check_inputs(request.roster, request.certs)
    general: list[Finding] = []
    decisions: dict[str, Decision] = {}
    if hooks.store is not None:
        # Decisions imported from a workbook; the CSV file, read next, wins for a certificate.
        decisions.update(stored_decisions(hooks.store))
    if config.decisions is not None:
        from_file, decision_findings = read_decisions(config.decisions)
        decisions.update(from_file)
        general.extend(decision_findings)
    trust = load_trust_store(config)
    setup = CheckSetup(
        config.trust,
        config.policy,
        request.as_of,
        cache=hooks.store.path if hooks.store is not None else None,
        cache_folder=hooks.cache_folder,
    )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster") as background:
        # The roster is read while the workers read the certificate files.
        roster_future = background.submit(
            read_roster,
            request.roster,
            sheet=request.sheet,
            limits=config.limits,
            certs_root=request.certs,
        )
        early = _EarlyMatching(roster_future, request.certs, decisions)
        with stage("ingest"):
            checked = read_and_check(
                request.certs,
                limits=config.limits,
                setup=setup,
                trust=trust,
                workers=config.read_workers,
                known=hooks.known,
                tick=hooks.tick,
                entries=hooks.entries,
                store=hooks.store,
                on_chunk=early.on_chunk,
            )
        roster = roster_future.result()
    if not checked:
        raise InputError(
            f"Le dossier des certificats {request.certs} ne contient aucun fichier à traiter.",
            hint="Vérifiez le dossier donné à --certs (les fichiers cachés et les fichiers "
            "de verrouillage « ~$ » sont ignorés).",
        )
    file_refs = early.file_refs if early.matcher else _file_refs(roster, request.certs)
    checked, kept_of = deduplicate_files(checked, set(file_refs.values()))
    final_refs = {row: kept_of.get(path, path) for row, path in file_refs.items()}
    with stage("match"):
        matcher, parts = early.matcher, early.parts
        if matcher is None or final_refs != file_refs:
            # A file named in the roster turned out to be a copy: match with the final names.
            matcher, parts = _matcher(roster, final_refs, decisions), []
        matched_early = early.done if parts else set()
        rest = [
            c.file
            for c in checked
            if c.file.path not in matched_early and c.file.path not in kept_of
        ]
        matched = combine([*parts, matcher.match(rest)], drop=set(kept_of))
    validator = make_validator(setup, trust)
    with stage("decide"):
        decided = decide(roster, checked, matched, validator)

    stop_code = None
    agents = decided.agents
    if hooks.pusher is not None:
        with stage("push"):
            agents, stop_code = hooks.pusher(agents, checked)
    return RunResult(
        run_id=request.run_id,
        as_of=request.as_of,
        dry_run=request.dry_run,
        agents=tuple(agents),
        files=tuple(decided.files),
        parameters=_parameters(request, roster, trust),
        notices=_notices(config, trust),
        general=tuple(general),
        stop_code=stop_code,
        valid_until=valid_until(checked, request.as_of, config, trust),
    )


def _file_refs(roster: Roster, certs: Path) -> dict[int, str]:
    from certsync.roster import resolve_file_ref

    refs: dict[int, str] = {}
    for agent in roster.agents:
        if agent.file_ref:
            resolved = resolve_file_ref(certs, agent.file_ref)
            if resolved is not None:
                refs[agent.row] = resolved
    return refs


def _excluded_rows(roster: Roster) -> set[int]:
    return {f.row for f in roster.findings if f.code in EXCLUDED_ROW_CODES and f.row is not None}


def _parameters(request: RunRequest, roster: Roster, trust: TrustStore | None) -> dict[str, str]:
    params = {
        "Liste des agents": str(request.roster),
        "Dossier des certificats": str(request.certs),
    }
    labels = {
        "format": "Format de la liste",
        "encoding": "Encodage",
        "separator": "Séparateur",
        "sheet": "Feuille",
        "header_row": "Ligne d'en-tête",
        "columns": "Colonnes reconnues",
    }
    for key, label in labels.items():
        if roster.detected.get(key):
            params[label] = roster.detected[key]
    params["Magasin de confiance"] = (
        f"{trust.source} ({plural(len(trust.anchors), 'racine')}, "
        f"{plural(len(trust.intermediates), 'intermédiaire')})"
        if trust is not None
        else "aucun"
    )
    params.update(request.parameters)
    return params


def _notices(config: Config, trust: TrustStore | None) -> tuple[str, ...]:
    notices = []
    if trust is None:
        notices.append(
            "AUCUN MAGASIN DE CONFIANCE : l'autorité des certificats n'a pas été vérifiée"
            + (
                " ; dépôt autorisé par --skip-chain-check."
                if config.policy.skip_chain_check
                else " ; aucun certificat ne sera déposé (fournissez --trust)."
            )
        )
    notices.extend(f"{w[0].upper()}{w[1:]}." for w in exposed_secret_files(config.platform))
    return tuple(notices)
