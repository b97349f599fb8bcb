"""The push engine's records: the items, the plan's decisions and the outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from certsync.connectors.interface import (
    Account,
    AccountSnapshot,
)
from certsync.errors import CertsyncError
from certsync.findings import Code, Finding, finding
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
        return [planned_outcome(e) for e in self.entries]


@dataclass(frozen=True, slots=True)
class PushRun:
    """The result of apply()."""

    outcomes: tuple[PushOutcome, ...]
    """One per plan entry, in input order."""
    breaker_open: bool = False
    """The circuit breaker tripped: the CLI exits with ExitCode.PLATFORM_UNAVAILABLE."""
    error: CertsyncError | None = None
    """A run-stopping error (its exit_code says which); the items left are MEGALIS_UNAVAILABLE."""


def planned_outcome(entry: PlanEntry) -> PushOutcome:
    """The outcome of an entry that is not written (or, in a dry run, would be)."""
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
