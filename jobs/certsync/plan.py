"""The plan as the report shows it: for every agent, what the real run does to its account
(create, first certificate, replace, leave unchanged) or why nothing is done.

The push engine's own plan (which account to write, read from the platform) is
`certsync.push.planning`; this module only words it, and the rows that never reached it."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from certsync.frenchfmt import fr_int
from certsync.push.records import PlanAction, PlanEntry
from certsync.records import AgentResult, AgentStatus, CertBrief, PlanStep, RunResult, Step

#: How a step reads in the report (French), in the order the summary lists them.
STEP_FR = {
    Step.CREATE: "créer le compte et y déposer le certificat",
    Step.ADD: "ajouter un premier certificat",
    Step.REPLACE: "remplacer le certificat",
    Step.UNCHANGED: "laisser tel quel (déjà présent)",
    Step.NO_ACCOUNT: "compte absent",
    Step.NOT_READ: "à déposer (compte non lu)",
    Step.UNREADABLE: "compte illisible",
    Step.DISABLED: "compte désactivé : rien n'est écrit",
    Step.INCOMPLETE: "compte introuvable (liste des comptes incomplète) : rien n'est créé",
    Step.UNSETTLED: "dépôt précédent pas encore vérifié : rien n'est réécrit",
    Step.NOT_SELECTED: "hors de la sélection (--only, --limit) : rien n'est écrit",
    Step.BLOCKED: "pas de dépôt : bloqué",
    Step.NO_CERTIFICATE: "pas de dépôt : aucun certificat",
    Step.OTHER: "pas de dépôt",
}
#: The on-screen summary: (singular, plural) for each step.
_COUNTED = {
    Step.CREATE: ("compte à créer", "comptes à créer"),
    Step.ADD: ("premier certificat à ajouter", "premiers certificats à ajouter"),
    Step.REPLACE: ("certificat à remplacer", "certificats à remplacer"),
    Step.UNCHANGED: ("compte déjà à jour", "comptes déjà à jour"),
    Step.NO_ACCOUNT: ("compte absent", "comptes absents"),
    Step.NOT_READ: (
        "certificat à déposer (comptes non lus)",
        "certificats à déposer (comptes non lus)",
    ),
    Step.UNREADABLE: ("compte illisible", "comptes illisibles"),
    Step.DISABLED: ("compte désactivé", "comptes désactivés"),
    Step.INCOMPLETE: (
        "compte introuvable (liste incomplète)",
        "comptes introuvables (liste incomplète)",
    ),
    Step.UNSETTLED: ("dépôt précédent à vérifier", "dépôts précédents à vérifier"),
    Step.NOT_SELECTED: ("agent hors sélection", "agents hors sélection"),
    Step.BLOCKED: ("agent bloqué", "agents bloqués"),
    Step.NO_CERTIFICATE: ("agent sans certificat", "agents sans certificat"),
    Step.OTHER: ("autre cas", "autres cas"),
}
_NO_ACCOUNT_REASON = (
    "aucun compte Mégalis avec cet e-mail ; relancez avec --create-missing pour le créer, "
    "ou corrigez l'e-mail dans la liste"
)


def brief_of_der(der: bytes) -> CertBrief:
    """Name (CN), end of validity and SHA-256 of a certificate read on an account."""
    import hashlib

    sha = hashlib.sha256(der).hexdigest()
    try:
        cert = x509.load_der_x509_certificate(der)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = str(names[0].value) if names else cert.subject.rfc4514_string()
        return CertBrief(name, cert.not_valid_after_utc, sha)
    except ValueError:
        return CertBrief("(certificat illisible)", None, sha)


def selection_step(step: PlanStep, outcome_codes: set[str]) -> PlanStep:
    """A planned write that --only/--limit kept from being written says so."""
    if "MEGALIS_NOT_SELECTED" in outcome_codes and step.step in (
        Step.CREATE,
        Step.ADD,
        Step.REPLACE,
    ):
        what = STEP_FR[step.step]
        return PlanStep(Step.NOT_SELECTED, step.current, f"le dépôt réel ferait : {what}")
    return step


def step_of(entry: PlanEntry) -> PlanStep:
    """The plan step for one push-engine decision (read from outside the engine)."""
    current = brief_of_der(entry.old_der) if entry.old_der is not None else None
    match entry.action:
        case PlanAction.CREATE:
            return PlanStep(Step.CREATE)
        case PlanAction.WRITE:
            if current is None and entry.old_sha256 is None:
                return PlanStep(Step.ADD)
            return PlanStep(Step.REPLACE, current)
        case PlanAction.UNCHANGED:
            return PlanStep(Step.UNCHANGED, current)
        case PlanAction.MISSING:
            return PlanStep(Step.NO_ACCOUNT, reason=_NO_ACCOUNT_REASON)
        case PlanAction.REJECTED | PlanAction.PENDING:
            return PlanStep(Step.UNREADABLE, current, entry.reason)
        case PlanAction.DISABLED:
            return PlanStep(Step.DISABLED, current)
        case PlanAction.INCOMPLETE:
            return PlanStep(Step.INCOMPLETE, reason=entry.reason)
        case PlanAction.UNSETTLED:
            return PlanStep(Step.UNSETTLED, current, entry.reason)
        case _:
            return PlanStep(Step.OTHER, current, entry.reason or str(entry.action))


_NOT_READ = PlanStep(
    Step.NOT_READ,
    reason="simulation sans --url : le compte n'a pas été lu ; donnez --url pour voir ce qu'il "
    "contient",
)


def step_for(agent: AgentResult) -> PlanStep:
    """The plan step of a row: the engine's, or why the row never reached the engine."""
    if agent.plan is not None:
        return agent.plan
    if agent.status is AgentStatus.WOULD_PUSH:
        return _NOT_READ
    reasons = "; ".join(dict.fromkeys(f.spec.title for f in agent.findings if f.blocking))
    match agent.status:
        case AgentStatus.BLOCKED:
            return PlanStep(Step.BLOCKED, reason=reasons)
        case AgentStatus.NO_CERTIFICATE:
            return PlanStep(Step.NO_CERTIFICATE, reason=reasons)
        case _:
            return PlanStep(Step.OTHER, reason=reasons)


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One line of the plan, as the report shows it."""

    row: int
    agent: str
    email: str
    step: Step
    reason: str
    current: CertBrief | None
    new: CertBrief | None


def plan_rows(result: RunResult) -> Iterator[PlanRow]:
    """The plan of every roster row, in roster order."""
    names = {f.file: f.common_name for f in result.files}
    for a in result.agents:
        step = step_for(a)
        new = (
            CertBrief(names.get(a.file or "", "") or (a.file or ""), a.not_after, a.sha256)
            if a.sha256 and step.step not in (Step.UNCHANGED, Step.NO_CERTIFICATE)
            else None
        )
        yield PlanRow(
            a.agent.row,
            a.agent.display_name,
            a.agent.email,
            step.step,
            step.reason,
            step.current,
            new,
        )


def plan_counts(result: RunResult) -> Counter[Step]:
    """How many rows take each step."""
    return Counter(step_for(a).step for a in result.agents)


def plan_summary(result: RunResult, counts: Counter[Step] | None = None) -> str:
    """« 12 comptes à créer, 340 certificats à remplacer, … » (empty without agents)."""
    counts = plan_counts(result) if counts is None else counts
    return ", ".join(
        f"{fr_int(counts[step])} {one if counts[step] == 1 else many}"
        for step, (one, many) in _COUNTED.items()
        if counts[step]
    )


@functools.lru_cache(maxsize=4096)
def _date(moment: dt.datetime | None) -> str:
    # Thousands of certificates share an end of validity: format each one once.
    return f"{moment:%d/%m/%Y}" if moment else ""


PLAN_COLUMNS = (
    "Ligne",
    "Agent",
    "E-mail",
    "Action",
    "Raison",
    "Certificat actuel",
    "Expire le",
    "SHA-256 actuel",
    "Nouveau certificat",
    "Expire le ",
    "SHA-256 nouveau",
)


def plan_cells(row: PlanRow) -> tuple[int | str, ...]:
    """A plan row in PLAN_COLUMNS order (French text, dates as 01/12/2026)."""
    cur, new = row.current, row.new
    return (
        row.row,
        row.agent,
        row.email,
        STEP_FR[row.step],
        row.reason,
        cur.name if cur else "",
        _date(cur.not_after) if cur else "",
        cur.sha256 if cur else "",
        new.name if new else "",
        _date(new.not_after) if new else "",
        new.sha256 if new else "",
    )


def _brief_json(brief: CertBrief | None) -> dict[str, str | None] | None:
    if brief is None:
        return None
    return {
        "name": brief.name,
        "not_after": brief.not_after.isoformat() if brief.not_after else None,
        "sha256": brief.sha256,
    }


def plan_json(rows: Iterable[PlanRow]) -> Iterator[dict[str, object]]:
    """The plan for report.json: one object per roster row."""
    for r in rows:
        yield {
            "row": r.row,
            "email": r.email,
            "action": r.step.value,
            "reason": r.reason or None,
            "current": _brief_json(r.current),
            "new": _brief_json(r.new),
        }
