"""Applying the plan: each write journalled, sent, read back and judged."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from certsync.config import PlatformConfig
from certsync.connectors.interface import (
    Account,
    AccountSnapshot,
    AmbiguousWrite,
    Connector,
    Rejected,
    Unavailable,
)
from certsync.connectors.pem import der_of_text, sha256_hex, to_pem
from certsync.errors import CertsyncError, PlatformProtocolError
from certsync.findings import Code, Finding, finding
from certsync.push.breaker import BREAKER_REASON, CircuitBreaker
from certsync.push.readback import Landing, Verified, write_verified
from certsync.push.records import (
    WRITING,
    Intent,
    Journal,
    Plan,
    PlanAction,
    PlanEntry,
    PushOutcome,
    PushRun,
    Selection,
    planned_outcome,
)
from certsync.records import Agent, AgentStatus


@dataclass(slots=True)
class _Applier:
    connector: Connector
    breaker: CircuitBreaker
    journal: Journal | None
    create_missing: bool
    selected: set[int]
    selection: Selection
    errors: list[CertsyncError] = field(default_factory=list)

    def _stopped(self) -> str:
        if self.errors:
            return self.errors[0].message
        return BREAKER_REASON if self.breaker.open else ""

    def _stop(self, error: CertsyncError) -> None:
        self.errors.append(error)

    def _intend(self, intent: Intent) -> None:
        if self.journal is not None:
            self.journal.intend(intent)  # a CertsyncError here means: do not write

    def _after(self, call: Callable[[], None]) -> None:
        """A journal call after a write: its failure stops further writes, not this outcome."""
        try:
            call()
        except CertsyncError as exc:
            self._stop(exc)

    def run(self, entry: PlanEntry) -> PushOutcome:
        item = entry.item
        if entry.action not in WRITING:
            return planned_outcome(entry)
        if entry.action is PlanAction.CREATE and not self.create_missing:
            return planned_outcome(replace(entry, action=PlanAction.MISSING))
        if item.row not in self.selected:
            held = finding(Code.MEGALIS_NOT_SELECTED, row=item.row, options=self.selection.label)
            out = planned_outcome(replace(entry, action=PlanAction.WRITE))
            return replace(out, findings=(held,))
        stopped = self._stopped()
        if stopped or (entry.account is None and entry.action is PlanAction.PENDING):
            return planned_outcome(
                replace(entry, action=PlanAction.PENDING, reason=stopped or entry.reason)
            )
        try:
            if entry.account is None:
                return self._create(entry)
            return self._update(entry, entry.account)
        except Rejected as exc:
            self.breaker.success()
            return planned_outcome(replace(entry, action=PlanAction.REJECTED, reason=exc.message))
        except Unavailable as exc:
            self.breaker.failure()
            return planned_outcome(replace(entry, action=PlanAction.PENDING, reason=exc.reason))
        except CertsyncError as exc:
            self._stop(exc)
            return planned_outcome(replace(entry, action=PlanAction.PENDING, reason=exc.message))

    def _update(self, entry: PlanEntry, account: Account) -> PushOutcome:
        item = entry.item
        before, old_der = entry.before, entry.old_der
        if before is None:
            # The first read failed: read now; nothing is written without knowing what it holds.
            before = self.connector.read_account(account)
            old_der = der_of_text(before.certificate)
            if old_der is not None and sha256_hex(old_der) == item.sha256:
                self.breaker.success()
                return PushOutcome(item.row, AgentStatus.UNCHANGED, (), item.sha256, account.id)
        intent = Intent(item, account.id, old_der)
        self._intend(intent)
        try:
            verified = write_verified(
                self.connector, account, before, to_pem(item.der), item.sha256
            )
        except (Rejected, Unavailable):
            self._after(lambda: self._drop(intent))
            raise
        return self._conclude(intent, account, verified, [])

    def _drop(self, intent: Intent) -> None:
        if self.journal is not None:
            self.journal.drop(intent)

    def _confirm(self, intent: Intent, account_id: str) -> None:
        if self.journal is not None:
            self.journal.confirm(intent, account_id)

    def _create(self, entry: PlanEntry) -> PushOutcome:
        item = entry.item
        intent = Intent(item, "", None)
        self._intend(intent)
        pem = to_pem(item.der)
        try:
            account = self.connector.create_account(item.agent, pem)
        except Unavailable as exc:
            found = self._created_anyway(item.agent, exc)
            if found is None:
                self._after(lambda: self._drop(intent))
                raise
            account = found
        except Rejected:
            self._after(lambda: self._drop(intent))
            raise
        except CertsyncError as exc:
            # Sent, answer not understood: the account may exist now; the next run settles it.
            self._stop(exc)
            return PushOutcome(
                item.row,
                AgentStatus.FAILED,
                (finding(Code.MEGALIS_OUTCOME_UNKNOWN, row=item.row, reason=exc.message),),
            )
        created = [finding(Code.MEGALIS_ACCOUNT_CREATED, row=item.row, email=item.agent.email)]
        try:
            seen = self.connector.read_account(account)
        except Unavailable as exc:
            verified = Verified(Landing.UNKNOWN, reason=exc.reason)
            return self._conclude(intent, account, verified, created)
        if der_of_text(seen.certificate) is not None and _sha(seen) == item.sha256:
            return self._conclude(intent, account, Verified(Landing.LANDED, seen), created)
        verified = write_verified(self.connector, account, seen, pem, item.sha256)
        return self._conclude(intent, account, verified, created)

    def _created_anyway(self, agent: Agent, exc: Unavailable) -> Account | None:
        """After a creation whose answer was lost: the account, if it was created after all."""
        if not isinstance(exc, AmbiguousWrite):
            return None
        return self.connector.listing().accounts.get(agent.email_key)

    def _conclude(
        self, intent: Intent, account: Account, verified: Verified, findings: list[Finding]
    ) -> PushOutcome:
        """Journal and judge a write from its read-back: PUSHED, or FAILED with the reason."""
        problem = self._judge(intent, account, verified)
        old = sha256_hex(intent.old_der) if intent.old_der is not None else None
        status = AgentStatus.PUSHED if problem is None else AgentStatus.FAILED
        more = () if problem is None else (problem,)
        return PushOutcome(intent.item.row, status, (*findings, *more), old, account.id)

    def _judge(self, intent: Intent, account: Account, verified: Verified) -> Finding | None:
        """The finding that makes a write a failure (None: it landed and changed nothing else)."""
        row = intent.item.row
        if verified.landing is Landing.UNKNOWN:
            # The pending write stays in the journal: the next run reads the account and
            # records the write if it landed.
            if verified.error is not None:
                self._stop(verified.error)
            else:
                self.breaker.failure()
            return finding(Code.MEGALIS_OUTCOME_UNKNOWN, row=row, reason=verified.reason)
        self.breaker.success()
        if verified.landing is Landing.LANDED:
            self._after(lambda: self._confirm(intent, account.id))
        else:
            self._after(lambda: self._drop(intent))
        if verified.changed:
            problem = verified.changes_text()
            self._stop(_field_changed(intent.item.agent.email, problem))
            return finding(Code.MEGALIS_VERIFY_FAILED, row=row, problem=problem)
        if verified.landing is Landing.NOT_LANDED:
            shown = verified.found_sha256 or "aucun certificat lisible"
            problem = f"le compte contient un autre certificat ({shown})"
            return finding(Code.MEGALIS_VERIFY_FAILED, row=row, problem=problem, found=shown)
        return None


def _field_changed(email: str, problem: str) -> PlatformProtocolError:
    """The error that stops the writes after one changed another field of an account."""
    return PlatformProtocolError(
        f"Après le dépôt sur le compte « {email} », la relecture montre "
        f"qu'un autre champ a changé : {problem}. Plus aucun dépôt n'est fait sur "
        "cette plateforme pendant cette exécution.",
        hint="Vérifiez ce compte sur la plateforme et corrigez le champ à la main ; "
        "signalez le problème à l'équipe certsync avant de relancer.",
    )


def _sha(snapshot: AccountSnapshot) -> str | None:
    der = der_of_text(snapshot.certificate)
    return sha256_hex(der) if der is not None else None


def apply(
    plan: Plan,
    connector: Connector,
    config: PlatformConfig,
    *,
    create_missing: bool,
    journal: Journal | None = None,
    selection: Selection | None = None,
) -> PushRun:
    """Write what the plan says, `config.workers` at a time, reading every write back."""
    selection = selection or Selection()
    applier = _Applier(
        connector,
        CircuitBreaker(config.breaker_threshold),
        journal,
        create_missing,
        selection.pick(plan.entries),
        selection,
    )
    if plan.breaker_open or plan.error is not None:
        reason = plan.error.message if plan.error else BREAKER_REASON
        outcomes = [
            planned_outcome(replace(e, action=PlanAction.PENDING, reason=e.reason or reason))
            if e.action in WRITING
            else planned_outcome(e)
            for e in plan.entries
        ]
        return PushRun(tuple(outcomes), plan.breaker_open, plan.error)
    with ThreadPoolExecutor(max_workers=max(1, config.workers), thread_name_prefix="push") as pool:
        outcomes = list(pool.map(applier.run, plan.entries))
    error = applier.errors[0] if applier.errors else None
    return PushRun(tuple(outcomes), applier.breaker.open, error)
