"""The push stage: read every matched account first, then write what changed and read it back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum

from certsync.config import PlatformConfig
from certsync.connectors.interface import Account, AmbiguousWrite, Connector, Rejected, Unavailable
from certsync.connectors.pem import der_of_text, sha256_hex, sha256_of_text, to_pem
from certsync.errors import CertsyncError
from certsync.findings import Code, Finding, finding
from certsync.records import Agent, AgentStatus

#: Called once per certificate write the platform accepted, before its read-back, so that the
#: state/audit stage records it even if the run dies right after.
#: Arguments: row, account id, SHA-256 of the certificate replaced (or None), SHA-256 written,
#: and the DER of the certificate replaced when the plan read it (so it can be put back).
OnWritten = Callable[[int, str, str | None, str, bytes | None], None]


@dataclass(frozen=True, slots=True)
class PushItem:
    """One certificate to put on one agent's account."""

    row: int
    """Roster row."""
    agent: Agent
    """The agent (its e-mail finds the account)."""
    sha256: str
    """SHA-256 of the certificate's DER, lowercase hex."""
    der: bytes
    """The certificate."""


class Action(StrEnum):
    """What the plan decided for one item."""

    WRITE = "write"
    CREATE = "create"
    UNCHANGED = "unchanged"
    MISSING = "missing"
    REJECTED = "rejected"
    PENDING = "pending"
    """The account could not be read (platform unavailable): apply() tries again."""


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """The decision for one item, with what the account held."""

    item: PushItem
    action: Action
    account: Account | None = None
    old_sha256: str | None = None
    """SHA-256 of the certificate the account held, None if empty or unreadable text."""
    old_der: bytes | None = None
    """That certificate itself (public data), so that a rollback can put it back."""
    reason: str = ""
    """Why the item is PENDING or REJECTED (the platform's text)."""


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What happened to one roster row."""

    row: int
    status: AgentStatus
    """PUSHED, UNCHANGED, FAILED, or WOULD_PUSH in a dry-run plan."""
    findings: tuple[Finding, ...] = ()
    old_sha256: str | None = None
    """Certificate the account held before (None: none, or unreadable text)."""
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Every item's decision, in input order."""

    entries: tuple[PlanEntry, ...]
    breaker_open: bool = False
    """The platform stopped answering while reading: apply() writes nothing."""
    error: CertsyncError | None = None
    """A run-stopping error met while reading (auth lost, protocol)."""

    def outcomes(self) -> list[PushOutcome]:
        """The dry-run view: WOULD_PUSH for writes and creations, final states otherwise."""
        return [_planned_outcome(e) for e in self.entries]


@dataclass(frozen=True, slots=True)
class PushRun:
    """The result of apply()."""

    outcomes: tuple[PushOutcome, ...]
    """One per plan entry, in input order."""
    breaker_open: bool = False
    """The circuit breaker tripped: the CLI exits with ExitCode.PLATFORM_UNAVAILABLE."""
    error: CertsyncError | None = None
    """A run-stopping error (its exit_code says which); the items left are MEGALIS_UNAVAILABLE."""


class CircuitBreaker:
    """Opens after `threshold` consecutive unavailability failures; any success resets it."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self._failures = 0
        self._open = False
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """True once tripped (it never closes during a run)."""
        return self._open

    def success(self) -> None:
        """A call got an answer."""
        with self._lock:
            self._failures = 0

    def failure(self) -> None:
        """A call failed for unavailability, after its retries."""
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                self._open = True


BREAKER_REASON = "la plateforme ne répond plus, envois arrêtés par le disjoncteur"


def _planned_outcome(entry: PlanEntry) -> PushOutcome:
    row, account = entry.item.row, entry.account
    account_id = account.id if account else None
    match entry.action:
        case Action.WRITE | Action.CREATE:
            return PushOutcome(row, AgentStatus.WOULD_PUSH, (), entry.old_sha256, account_id)
        case Action.UNCHANGED:
            return PushOutcome(row, AgentStatus.UNCHANGED, (), entry.old_sha256, account_id)
        case Action.MISSING:
            f = finding(Code.MEGALIS_ACCOUNT_NOT_FOUND, row=row, email=entry.item.agent.email)
            return PushOutcome(row, AgentStatus.FAILED, (f,), None, None)
        case Action.REJECTED:
            f = finding(Code.MEGALIS_REJECTED, row=row, message=entry.reason)
            return PushOutcome(row, AgentStatus.FAILED, (f,), entry.old_sha256, account_id)
        case _:
            f = finding(Code.MEGALIS_UNAVAILABLE, row=row, reason=entry.reason)
            return PushOutcome(row, AgentStatus.FAILED, (f,), entry.old_sha256, account_id)


def plan(
    items: Sequence[PushItem],
    connector: Connector,
    *,
    create_missing: bool = False,
    workers: int = 4,
    breaker_threshold: int = 5,
) -> Plan:
    """Match items to accounts and read each account's certificate (concurrently).

    Certificates are compared by the SHA-256 of their DER, never by text; stored text that does
    not parse counts as "another certificate".
    """
    # The socle finds a functional administrator's organisations by the roster's SIRENs.
    scope = getattr(connector, "use_sirens", None)
    if scope is not None:
        scope(sorted({i.agent.siren or i.agent.siret[:9] for i in items} - {""}))
    try:
        accounts = connector.list_accounts()
    except Unavailable as exc:
        pending = tuple(PlanEntry(i, Action.PENDING, reason=exc.reason) for i in items)
        return Plan(pending, breaker_open=True)
    except CertsyncError as exc:
        pending = tuple(PlanEntry(i, Action.PENDING, reason=exc.message) for i in items)
        return Plan(pending, error=exc)
    breaker = CircuitBreaker(breaker_threshold)
    stop: list[CertsyncError] = []

    def decide(item: PushItem) -> PlanEntry:
        account = accounts.get(item.agent.email_key)
        if account is None:
            return PlanEntry(item, Action.CREATE if create_missing else Action.MISSING)
        if breaker.open or stop:
            reason = stop[0].message if stop else BREAKER_REASON
            return PlanEntry(item, Action.PENDING, account, reason=reason)
        try:
            old_der = der_of_text(connector.read_certificate(account))
        except Rejected as exc:
            breaker.success()
            return PlanEntry(item, Action.REJECTED, account, reason=exc.message)
        except Unavailable as exc:
            breaker.failure()
            return PlanEntry(item, Action.PENDING, account, reason=exc.reason)
        except CertsyncError as exc:
            stop.append(exc)
            return PlanEntry(item, Action.PENDING, account, reason=exc.message)
        breaker.success()
        old = sha256_hex(old_der) if old_der is not None else None
        action = Action.UNCHANGED if old == item.sha256 else Action.WRITE
        return PlanEntry(item, action, account, old, old_der)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="plan") as pool:
        entries = tuple(pool.map(decide, items))
    return Plan(entries, breaker.open, stop[0] if stop else None)


class _Applier:
    def __init__(
        self,
        connector: Connector,
        config: PlatformConfig,
        on_written: OnWritten | None,
        create_missing: bool,
    ) -> None:
        self.connector = connector
        self.rounds = max(1, config.max_attempts)
        self.breaker = CircuitBreaker(config.breaker_threshold)
        self.on_written = on_written
        self.create_missing = create_missing
        self.errors: list[CertsyncError] = []

    def _stopped(self) -> str:
        if self.errors:
            return self.errors[0].message
        return BREAKER_REASON if self.breaker.open else ""

    def _sha(self, account: Account) -> str | None:
        return sha256_of_text(self.connector.read_certificate(account))

    def _write(self, account: Account, pem: str, target: str) -> None:
        for _ in range(self.rounds):
            try:
                self.connector.write_certificate(account, pem)
                return
            except AmbiguousWrite:
                # The write may have landed: look before writing again.
                if self._sha(account) == target:
                    return
        raise Unavailable("écriture sans réponse et introuvable à la relecture")

    def _create(self, agent: Agent, pem: str) -> Account:
        try:
            return self.connector.create_account(agent, pem)
        except AmbiguousWrite:
            found = self.connector.list_accounts().get(agent.email_key)
            if found is None:
                raise
            return found

    def _notify(
        self, row: int, account_id: str, old: str | None, new: str, old_der: bytes | None
    ) -> None:
        if self.on_written is None:
            return
        try:
            self.on_written(row, account_id, old, new, old_der)
        except CertsyncError as exc:
            # The write happened; the outcome says so. But without a record of it (state file
            # broken) no further write may start.
            self.errors.append(exc)
        except BaseException:
            self.errors.append(CertsyncError("Erreur interne pendant l'enregistrement d'un dépôt."))
            raise

    def run(self, entry: PlanEntry) -> PushOutcome:
        item = entry.item
        if entry.action not in {Action.WRITE, Action.CREATE, Action.PENDING}:
            return _planned_outcome(entry)
        if entry.action is Action.CREATE and not self.create_missing:
            return _planned_outcome(replace(entry, action=Action.MISSING))
        stopped = self._stopped()
        if stopped or (entry.account is None and entry.action is Action.PENDING):
            return _planned_outcome(
                replace(entry, action=Action.PENDING, reason=stopped or entry.reason)
            )
        findings: list[Finding] = []
        account, old = entry.account, entry.old_sha256
        pem = to_pem(item.der)
        try:
            if account is None:
                account = self._create(item.agent, pem)
                findings.append(
                    finding(Code.MEGALIS_ACCOUNT_CREATED, row=item.row, email=item.agent.email)
                )
                if self._sha(account) != item.sha256:
                    self._write(account, pem, item.sha256)
            else:
                if entry.action is Action.PENDING:
                    old = self._sha(account)
                    if old == item.sha256:
                        self.breaker.success()
                        return PushOutcome(item.row, AgentStatus.UNCHANGED, (), old, account.id)
                self._write(account, pem, item.sha256)
            old_der = entry.old_der if old == entry.old_sha256 else None
            self._notify(item.row, account.id, old, item.sha256, old_der)
            found = self._sha(account)
        except Rejected as exc:
            self.breaker.success()
            findings.append(finding(Code.MEGALIS_REJECTED, row=item.row, message=exc.message))
            return PushOutcome(
                item.row, AgentStatus.FAILED, tuple(findings), old, account.id if account else None
            )
        except Unavailable as exc:
            self.breaker.failure()
            findings.append(finding(Code.MEGALIS_UNAVAILABLE, row=item.row, reason=exc.reason))
            return PushOutcome(
                item.row, AgentStatus.FAILED, tuple(findings), old, account.id if account else None
            )
        except CertsyncError as exc:
            self.errors.append(exc)
            findings.append(finding(Code.MEGALIS_UNAVAILABLE, row=item.row, reason=exc.message))
            return PushOutcome(
                item.row, AgentStatus.FAILED, tuple(findings), old, account.id if account else None
            )
        self.breaker.success()
        if found != item.sha256:
            shown = found or "aucun certificat lisible"
            findings.append(finding(Code.MEGALIS_VERIFY_FAILED, row=item.row, found=shown))
            return PushOutcome(item.row, AgentStatus.FAILED, tuple(findings), old, account.id)
        return PushOutcome(item.row, AgentStatus.PUSHED, tuple(findings), old, account.id)


def apply(
    plan: Plan,
    connector: Connector,
    config: PlatformConfig,
    *,
    create_missing: bool,
    on_written: OnWritten | None = None,
) -> PushRun:
    """Write what the plan says, `config.workers` at a time, reading every write back."""
    applier = _Applier(connector, config, on_written, create_missing)
    if plan.breaker_open or plan.error is not None:
        reason = plan.error.message if plan.error else BREAKER_REASON
        outcomes = [
            _planned_outcome(replace(e, action=Action.PENDING, reason=e.reason or reason))
            if e.action in {Action.WRITE, Action.CREATE, Action.PENDING}
            else _planned_outcome(e)
            for e in plan.entries
        ]
        return PushRun(tuple(outcomes), plan.breaker_open, plan.error)
    with ThreadPoolExecutor(max_workers=max(1, config.workers), thread_name_prefix="push") as pool:
        outcomes = list(pool.map(applier.run, plan.entries))
    error = applier.errors[0] if applier.errors else None
    return PushRun(tuple(outcomes), applier.breaker.open, error)


def push(
    items: Iterable[PushItem],
    connector: Connector,
    config: PlatformConfig,
    *,
    create_missing: bool = False,
    dry_run: bool = False,
    on_written: OnWritten | None = None,
) -> PushRun:
    """check() then plan() then apply() (or the plan's view in a dry run); check() may raise."""
    connector.check()
    the_plan = plan(
        list(items),
        connector,
        create_missing=create_missing,
        workers=config.workers,
        breaker_threshold=config.breaker_threshold,
    )
    if dry_run:
        return PushRun(tuple(the_plan.outcomes()), the_plan.breaker_open, the_plan.error)
    return apply(the_plan, connector, config, create_missing=create_missing, on_written=on_written)
