"""The plan: every item's account found in the listing and read whole, before any write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from certsync.connectors.interface import (
    Account,
    AccountListing,
    Connector,
    Rejected,
    Unavailable,
)
from certsync.connectors.pem import der_of_text, sha256_hex
from certsync.errors import CertsyncError
from certsync.push.breaker import BREAKER_REASON, CircuitBreaker
from certsync.push.records import Plan, PlanAction, PlanEntry, PushItem


def scope(connector: Connector, items: Sequence[PushItem]) -> None:
    """Tell the connector the roster's SIRENs before it lists accounts."""
    connector.use_sirens(sorted({i.agent.siren or i.agent.siret[:9] for i in items} - {""}))


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
        scope(connector, items)
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
