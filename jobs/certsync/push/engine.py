"""The push stage: read every matched account first, then write what changed and read it back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from certsync.config import PlatformConfig
from certsync.connectors.interface import (
    Account,
    AccountListing,
    AccountSnapshot,
    AmbiguousWrite,
    Connector,
    Rejected,
    Unavailable,
)
from certsync.connectors.pem import der_of_text, sha256_hex, to_pem
from certsync.errors import CertsyncError, PlatformProtocolError
from certsync.findings import Code, Finding, finding
from certsync.push.readback import Landing, Verified, write_verified
from certsync.records import Agent, AgentStatus


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


@dataclass(frozen=True, slots=True)
class Intent:
    """A write about to be made and what it replaces, recorded durably before it is sent."""

    item: PushItem
    account_id: str
    """The account written ("" for an account about to be created)."""
    old_der: bytes | None
    """The certificate the account holds now, as read (None: empty, or text that is not one)."""


class Journal(Protocol):
    """Where the push stage records its writes (the state file), each call one transaction."""

    def intend(self, intent: Intent) -> None:
        """Record the write before it is sent; raise CertsyncError and it is not sent."""
        ...

    def confirm(self, intent: Intent, account_id: str) -> None:
        """The write is on the account (read back): audit it with what it replaced."""
        ...

    def drop(self, intent: Intent) -> None:
        """The write did not land (refused, not sent, or read back as before)."""
        ...


class PlanAction(StrEnum):
    """What the plan decided for one item."""

    WRITE = "write"
    CREATE = "create"
    UNCHANGED = "unchanged"
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    """Not in a listing that is not proven complete: never created (it may exist)."""
    DISABLED = "disabled"
    """The platform lists the account as disabled: never written."""
    AMBIGUOUS = "ambiguous"
    """Several active accounts have the agent's e-mail: none is written, none is created."""
    REJECTED = "rejected"
    PENDING = "pending"
    """The account could not be read (platform unavailable): apply() reads it again first."""
    UNSETTLED = "unsettled"
    """A previous run's write to this account is still unconfirmed: not written this time."""


#: Actions that may lead to a write.
WRITING = frozenset({PlanAction.WRITE, PlanAction.CREATE, PlanAction.PENDING})


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """The decision for one item, with what the account held."""

    item: PushItem
    action: PlanAction
    account: Account | None = None
    old_sha256: str | None = None
    """SHA-256 of the certificate the account held, None if empty or unreadable text."""
    old_der: bytes | None = None
    """That certificate itself (public data), so that a rollback can put it back."""
    reason: str = ""
    """Why the item is PENDING, REJECTED, UNSETTLED or INCOMPLETE (in French)."""
    before: AccountSnapshot | None = None
    """Everything the account held when read, compared with the read-back after the write."""


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What happened to one roster row."""

    row: int
    status: AgentStatus
    """PUSHED, UNCHANGED, FAILED, or WOULD_PUSH in a dry-run plan or outside the selection."""
    findings: tuple[Finding, ...] = ()
    old_sha256: str | None = None
    """Certificate the account held before (None: none, or unreadable text)."""
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which agents may be written this run (`--only`, `--limit`); the others are only planned."""

    only: frozenset[str] | None = None
    """Case-folded e-mails; None: every agent."""
    limit: int | None = None
    """At most this many agents written (the first ones needing a write, in roster order)."""

    def pick(self, entries: Sequence[PlanEntry]) -> set[int]:
        """The rows allowed to be written."""
        rows: set[int] = set()
        for e in entries:
            if e.action not in WRITING:
                continue
            if self.only is not None and e.item.agent.email_key not in self.only:
                continue
            if self.limit is not None and len(rows) >= self.limit:
                break
            rows.add(e.item.row)
        return rows

    @property
    def label(self) -> str:
        """The options as the administrator typed them, for the report."""
        parts = []
        if self.only is not None:
            parts.append("--only")
        if self.limit is not None:
            parts.append(f"--limit {self.limit}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Plan:
    """Every item's decision, in input order."""

    entries: tuple[PlanEntry, ...]
    breaker_open: bool = False
    """The platform stopped answering while reading: apply() writes nothing."""
    error: CertsyncError | None = None
    """A run-stopping error met while reading (auth lost, protocol)."""
    gaps: tuple[str, ...] = ()
    """Why the account listing is not proven complete (no account is then created)."""

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
    email = entry.item.agent.email

    def failed(f: Finding) -> PushOutcome:
        return PushOutcome(row, AgentStatus.FAILED, (f,), entry.old_sha256, account_id)

    match entry.action:
        case PlanAction.WRITE | PlanAction.CREATE:
            return PushOutcome(row, AgentStatus.WOULD_PUSH, (), entry.old_sha256, account_id)
        case PlanAction.UNCHANGED:
            return PushOutcome(row, AgentStatus.UNCHANGED, (), entry.old_sha256, account_id)
        case PlanAction.MISSING:
            return failed(finding(Code.MEGALIS_ACCOUNT_NOT_FOUND, row=row, email=email))
        case PlanAction.INCOMPLETE:
            return failed(
                finding(Code.MEGALIS_LISTING_INCOMPLETE, row=row, email=email, gaps=entry.reason)
            )
        case PlanAction.DISABLED:
            return failed(
                finding(Code.MEGALIS_ACCOUNT_DISABLED, row=row, email=email, account=account_id)
            )
        case PlanAction.AMBIGUOUS:
            return failed(
                finding(Code.MEGALIS_ACCOUNT_AMBIGUOUS, row=row, email=email, ids=entry.reason)
            )
        case PlanAction.REJECTED:
            return failed(finding(Code.MEGALIS_REJECTED, row=row, message=entry.reason))
        case PlanAction.UNSETTLED:
            return failed(finding(Code.MEGALIS_OUTCOME_UNKNOWN, row=row, reason=entry.reason))
        case _:
            return failed(finding(Code.MEGALIS_UNAVAILABLE, row=row, reason=entry.reason))


def _scope(connector: Connector, items: Sequence[PushItem]) -> None:
    """Tell the connector the roster's SIRENs before it lists accounts.

    The socle finds a functional administrator's organisations by searching them
    (docs/platforms/socle.md); the other platforms have no such step.
    """
    scope = getattr(connector, "use_sirens", None)
    if scope is not None:
        scope(sorted({i.agent.siren or i.agent.siret[:9] for i in items} - {""}))


def plan(
    items: Sequence[PushItem],
    connector: Connector,
    *,
    create_missing: bool = False,
    workers: int = 4,
    breaker_threshold: int = 5,
    listing: AccountListing | None = None,
    unsettled: Mapping[str, str] | None = None,
) -> Plan:
    """Match items to accounts and read each account whole (concurrently).

    Certificates are compared by the SHA-256 of their DER, never by text; stored text that does
    not parse counts as "another certificate". `unsettled` maps the e-mails whose previous write
    is still unconfirmed to the reason: those accounts are not written this run.
    """
    if listing is None:
        _scope(connector, items)
        try:
            listing = connector.listing()
        except Unavailable as exc:
            pending = tuple(PlanEntry(i, PlanAction.PENDING, reason=exc.reason) for i in items)
            return Plan(pending, breaker_open=True)
        except CertsyncError as exc:
            pending = tuple(PlanEntry(i, PlanAction.PENDING, reason=exc.message) for i in items)
            return Plan(pending, error=exc)
    reader = _AccountReader(
        connector, listing, unsettled or {}, create_missing, CircuitBreaker(breaker_threshold)
    )
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="plan") as pool:
        entries = tuple(pool.map(reader.plan_entry, items))
    stop = reader.errors[0] if reader.errors else None
    return Plan(entries, reader.breaker.open, stop, listing.gaps)


@dataclass(slots=True)
class _AccountReader:
    """Finds each item's account in the listing and reads it: one PlanEntry per item."""

    connector: Connector
    listing: AccountListing
    unsettled: Mapping[str, str]
    create_missing: bool
    breaker: CircuitBreaker
    errors: list[CertsyncError] = field(default_factory=list)

    def plan_entry(self, item: PushItem) -> PlanEntry:
        """The plan's decision for one item: from the listing, else from reading its account."""
        key = item.agent.email_key
        shared = self.listing.ambiguous.get(key)
        if shared:
            return PlanEntry(item, PlanAction.AMBIGUOUS, reason=", ".join(shared))
        account = self.listing.accounts.get(key)
        if account is None:
            if self.listing.gaps:
                return PlanEntry(item, PlanAction.INCOMPLETE, reason=" ; ".join(self.listing.gaps))
            return PlanEntry(item, PlanAction.CREATE if self.create_missing else PlanAction.MISSING)
        if not account.active:
            return PlanEntry(item, PlanAction.DISABLED, account)
        if key in self.unsettled:
            return PlanEntry(item, PlanAction.UNSETTLED, account, reason=self.unsettled[key])
        if self.breaker.open or self.errors:
            reason = self.errors[0].message if self.errors else BREAKER_REASON
            return PlanEntry(item, PlanAction.PENDING, account, reason=reason)
        return self._read(item, account)

    def _read(self, item: PushItem, account: Account) -> PlanEntry:
        """Read the account whole: UNCHANGED, WRITE, or why it could not be read."""
        try:
            before = self.connector.read_account(account)
        except Rejected as exc:
            self.breaker.success()
            return PlanEntry(item, PlanAction.REJECTED, account, reason=exc.message)
        except Unavailable as exc:
            self.breaker.failure()
            return PlanEntry(item, PlanAction.PENDING, account, reason=exc.reason)
        except CertsyncError as exc:
            self.errors.append(exc)
            return PlanEntry(item, PlanAction.PENDING, account, reason=exc.message)
        self.breaker.success()
        old_der = der_of_text(before.certificate)
        old = sha256_hex(old_der) if old_der is not None else None
        action = PlanAction.UNCHANGED if old == item.sha256 else PlanAction.WRITE
        return PlanEntry(item, action, account, old, old_der, before=before)


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
            return _planned_outcome(entry)
        if entry.action is PlanAction.CREATE and not self.create_missing:
            return _planned_outcome(replace(entry, action=PlanAction.MISSING))
        if item.row not in self.selected:
            held = finding(Code.MEGALIS_NOT_SELECTED, row=item.row, options=self.selection.label)
            out = _planned_outcome(replace(entry, action=PlanAction.WRITE))
            return replace(out, findings=(held,))
        stopped = self._stopped()
        if stopped or (entry.account is None and entry.action is PlanAction.PENDING):
            return _planned_outcome(
                replace(entry, action=PlanAction.PENDING, reason=stopped or entry.reason)
            )
        try:
            if entry.account is None:
                return self._create(entry)
            return self._update(entry, entry.account)
        except Rejected as exc:
            self.breaker.success()
            return _planned_outcome(replace(entry, action=PlanAction.REJECTED, reason=exc.message))
        except Unavailable as exc:
            self.breaker.failure()
            return _planned_outcome(replace(entry, action=PlanAction.PENDING, reason=exc.reason))
        except CertsyncError as exc:
            self._stop(exc)
            return _planned_outcome(replace(entry, action=PlanAction.PENDING, reason=exc.message))

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
        item = intent.item
        old = sha256_hex(intent.old_der) if intent.old_der is not None else None

        def out(status: AgentStatus, *more: Finding) -> PushOutcome:
            return PushOutcome(item.row, status, (*findings, *more), old, account.id)

        if verified.landing is Landing.UNKNOWN:
            # The pending write stays in the journal: the next run reads the account and
            # records the write if it landed.
            if verified.error is not None:
                self._stop(verified.error)
            else:
                self.breaker.failure()
            return out(
                AgentStatus.FAILED,
                finding(Code.MEGALIS_OUTCOME_UNKNOWN, row=item.row, reason=verified.reason),
            )
        self.breaker.success()
        if verified.landing is Landing.LANDED:
            self._after(lambda: self._confirm(intent, account.id))
        else:
            self._after(lambda: self._drop(intent))
        if verified.changed:
            problem = verified.changes_text()
            self._stop(
                PlatformProtocolError(
                    f"Après le dépôt sur le compte « {item.agent.email} », la relecture montre "
                    f"qu'un autre champ a changé : {problem}. Plus aucun dépôt n'est fait sur "
                    "cette plateforme pendant cette exécution.",
                    hint="Vérifiez ce compte sur la plateforme et corrigez le champ à la main ; "
                    "signalez le problème à l'équipe certsync avant de relancer.",
                )
            )
            return out(
                AgentStatus.FAILED,
                finding(Code.MEGALIS_VERIFY_FAILED, row=item.row, problem=problem),
            )
        if verified.landing is Landing.NOT_LANDED:
            shown = verified.found_sha256 or "aucun certificat lisible"
            problem = f"le compte contient un autre certificat ({shown})"
            return out(
                AgentStatus.FAILED,
                finding(Code.MEGALIS_VERIFY_FAILED, row=item.row, problem=problem, found=shown),
            )
        return out(AgentStatus.PUSHED)


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
            _planned_outcome(replace(e, action=PlanAction.PENDING, reason=e.reason or reason))
            if e.action in WRITING
            else _planned_outcome(e)
            for e in plan.entries
        ]
        return PushRun(tuple(outcomes), plan.breaker_open, plan.error)
    with ThreadPoolExecutor(max_workers=max(1, config.workers), thread_name_prefix="push") as pool:
        outcomes = list(pool.map(applier.run, plan.entries))
    error = applier.errors[0] if applier.errors else None
    return PushRun(tuple(outcomes), applier.breaker.open, error)


def _all_pending(items: Sequence[PushItem], reason: str) -> tuple[PushOutcome, ...]:
    return tuple(_planned_outcome(PlanEntry(i, PlanAction.PENDING, reason=reason)) for i in items)


#: Called with the listing before the plan: settles the writes earlier runs left unconfirmed
#: and returns the e-mails still unsettled, with the reason (those accounts are not written).
Settle = Callable[[AccountListing], Mapping[str, str]]


def push(
    items: Iterable[PushItem],
    connector: Connector,
    config: PlatformConfig,
    *,
    create_missing: bool = False,
    dry_run: bool = False,
    journal: Journal | None = None,
    selection: Selection | None = None,
    settle: Settle | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> PushRun:
    """check(), the listing, settle(), plan(), then apply() (or the plan's view in a dry run).

    check() may raise a CertsyncError; a failure while listing or settling stops the run with
    every item pending (nothing was written then). `on_plan` receives the plan before anything
    is written (the report shows it).
    """
    connector.check()
    items = list(items)
    _scope(connector, items)
    try:
        listing = connector.listing()
        unsettled = settle(listing) if settle is not None and not dry_run else {}
    except Unavailable as exc:
        return PushRun(_all_pending(items, exc.reason), breaker_open=True)
    except CertsyncError as exc:
        return PushRun(_all_pending(items, exc.message), error=exc)
    the_plan = plan(
        items,
        connector,
        create_missing=create_missing,
        workers=config.workers,
        breaker_threshold=config.breaker_threshold,
        listing=listing,
        unsettled=unsettled,
    )
    if on_plan is not None:
        on_plan(the_plan)
    if dry_run:
        return PushRun(tuple(the_plan.outcomes()), the_plan.breaker_open, the_plan.error)
    return apply(
        the_plan,
        connector,
        config,
        create_missing=create_missing,
        journal=journal,
        selection=selection,
    )
