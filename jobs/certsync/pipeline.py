"""The run as a table of contents: read inputs, de-duplicate, match, decide, plan or push.

Each stage is one named function over typed records (`Inputs`, `Deduplicated`, `MatchResult`,
`Assignments`, `AgentResult`); `runner` adds the previous-run shortcut and the reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from certsync.assign import assign_certificates, deduplicate_files
from certsync.certfiles.scan import Entry
from certsync.config import Config
from certsync.connectors.credentials import exposed_secret_files
from certsync.decisionbook import stored_decisions
from certsync.decisions import read_decisions
from certsync.errors import InputError
from certsync.findings import Finding
from certsync.french import plural
from certsync.ingest import Checked, CheckSetup, make_validator
from certsync.inputs import Inputs, make_matcher, read_inputs
from certsync.match import AdminDecision, MatchResult, combine
from certsync.records import AgentResult, Roster, RunResult
from certsync.shortcut import valid_until
from certsync.state import FileCache, StateStore
from certsync.timing import stage
from certsync.trust import TrustStore, load_trust

__all__ = ["Hooks", "Pusher", "RunRequest", "check_inputs", "load_trust_store", "run", "stage"]

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
    """Optional collaborators: the folder's listing, the state, its file cache, progress, pusher."""

    entries: Sequence[Entry] | None = None
    """The certificate folder's listing, when the caller already made it."""
    store: StateStore | None = None
    """The state, whose kept decisions (imported from a workbook) apply."""
    cache: FileCache | None = None
    """The file cache of the certificate folder (see state.filecache)."""
    tick: Callable[[int], None] | None = None
    pusher: Pusher | None = None


@dataclass(frozen=True, slots=True)
class Deduplicated:
    """The files once copies of one certificate are marked, and the roster's final file names."""

    checked: list[Checked]
    kept_of: dict[str, str]
    """Duplicate file → the file kept in its place."""
    refs: dict[int, str]
    """Roster row → the file its « Fichier » column names, copies replaced by the kept file."""


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


def run(request: RunRequest, hooks: Hooks | None = None) -> RunResult:
    """Execute one run and return its result; never prints, never exits.

    Read inputs, de-duplicate, match, decide, then push (or plan, in a dry run); the reports
    are written from the result by the caller (see `runner.run_and_report`).
    """
    hooks = hooks or Hooks()
    config = request.config
    check_inputs(request.roster, request.certs)
    decisions, general = load_decisions(config, hooks.store)
    trust = load_trust_store(config)
    setup = CheckSetup(config.trust, config.policy, request.as_of, cache=hooks.cache)
    inputs = read(request, setup, trust, decisions, hooks)
    files = deduplicate(inputs)
    with stage("match"):
        matched = match(inputs, files, decisions)
    with stage("decide"):
        decided = assign_certificates(
            inputs.roster, files.checked, matched, make_validator(setup, trust)
        )
    agents, stop_code = push(hooks.pusher, decided.agents, files.checked)
    return RunResult(
        run_id=request.run_id,
        as_of=request.as_of,
        dry_run=request.dry_run,
        agents=tuple(agents),
        files=tuple(decided.files),
        parameters=_parameters(request, inputs.roster, trust),
        notices=_notices(config, trust),
        general=tuple(general),
        stop_code=stop_code,
        valid_until=valid_until(files.checked, request.as_of, config, trust),
    )


def load_decisions(
    config: Config, store: StateStore | None
) -> tuple[dict[str, AdminDecision], list[Finding]]:
    """The administrator's decisions: kept in the state, then the CSV file's (which win)."""
    decisions: dict[str, AdminDecision] = {}
    findings: list[Finding] = []
    if store is not None:
        decisions.update(stored_decisions(store))
    if config.decisions is not None:
        from_file, findings = read_decisions(config.decisions)
        decisions.update(from_file)
    return decisions, list(findings)


def read(
    request: RunRequest,
    setup: CheckSetup,
    trust: TrustStore | None,
    decisions: Mapping[str, AdminDecision],
    hooks: Hooks,
) -> Inputs:
    """Stage « read inputs »: the roster and every file; an empty folder is refused."""
    inputs = read_inputs(
        request.roster,
        request.certs,
        sheet=request.sheet,
        config=request.config,
        setup=setup,
        trust=trust,
        decisions=decisions,
        entries=hooks.entries,
        tick=hooks.tick,
    )
    if not inputs.checked:
        raise InputError(
            f"Le dossier des certificats {request.certs} ne contient aucun fichier à traiter.",
            hint="Vérifiez le dossier donné à --certs (les fichiers cachés et les fichiers "
            "de verrouillage « ~$ » sont ignorés).",
        )
    return inputs


def deduplicate(inputs: Inputs) -> Deduplicated:
    """Stage « de-duplicate »: later copies of one certificate are marked FILE_DUPLICATE."""
    checked, kept_of = deduplicate_files(inputs.checked, set(inputs.file_refs.values()))
    refs = {row: kept_of.get(path, path) for row, path in inputs.file_refs.items()}
    return Deduplicated(checked, kept_of, refs)


def match(
    inputs: Inputs, files: Deduplicated, decisions: Mapping[str, AdminDecision]
) -> MatchResult:
    """Stage « match »: the files not matched while reading, merged with those that were."""
    matcher, parts = inputs.matcher, inputs.parts
    if matcher is None or files.refs != inputs.file_refs:
        # A file named in the roster turned out to be a copy: match with the final names.
        matcher, parts = make_matcher(inputs.roster, files.refs, decisions), []
    matched_early = inputs.done if parts else frozenset()
    rest = [
        c.file
        for c in files.checked
        if c.file.path not in matched_early and c.file.path not in files.kept_of
    ]
    return combine([*parts, matcher.match(rest)], drop=set(files.kept_of))


def push(
    pusher: Pusher | None, agents: list[AgentResult], checked: Sequence[Checked]
) -> tuple[list[AgentResult], int | None]:
    """Stage « plan, push »: the pusher plans (dry run) or pushes; without one, nothing."""
    if pusher is None:
        return agents, None
    with stage("push"):
        return pusher(agents, checked)


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
