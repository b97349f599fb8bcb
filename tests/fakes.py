"""An in-memory platform that subclasses the real Connector protocol, for engine tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from certsync.connectors.interface import (
    Account,
    AccountListing,
    AccountSnapshot,
    AmbiguousWrite,
    Connector,
    Rejected,
    Unavailable,
)
from certsync.records import Agent


@dataclass
class FakeConnector(Connector):
    """Accounts in memory; certificates stored as the text written; every field readable."""

    name: str = "socle"
    accounts: dict[str, Account] = field(default_factory=dict)
    stored: dict[str, str] = field(default_factory=dict)
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    """Account id → its other fields (names, login, role…)."""
    gaps: tuple[str, ...] = ()
    """Reasons the listing is incomplete."""
    reject: set[str] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)
    swallow: set[str] = field(default_factory=set)
    """Accounts where a write is acknowledged but not stored (to exercise the read-back)."""
    ambiguous: set[str] = field(default_factory=set)
    """Accounts where a write is stored but its answer is lost."""
    blind_after_write: set[str] = field(default_factory=set)
    """Accounts that cannot be read once written (the write's outcome stays unknown)."""
    unreadable: set[str] = field(default_factory=set)
    """Accounts whose reads fail (platform unavailable)."""
    flaky: dict[str, int] = field(default_factory=dict)
    """Account e-mail → how many of its next reads fail (a transient outage)."""
    garble: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Account e-mail → (field, new value) a write corrupts, like a platform re-encoding it."""
    writes: list[tuple[str, str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    reads: int = 0

    def add(self, email: str, pem: str | None, *, active: bool = True, **extra: str) -> Account:
        account = Account(id=f"id-{len(self.accounts) + 1}", email=email, active=active)
        self.accounts[account.email_key] = account
        self.fields[account.id] = {"email": email, "nom": "Le Bihan", "prenom": "Hélène", **extra}
        if pem is not None:
            self.stored[account.id] = pem
        return account

    def check(self) -> None:
        pass

    def list_accounts(self) -> dict[str, Account]:
        return dict(self.accounts)

    def listing(self) -> AccountListing:
        return AccountListing(dict(self.accounts), self.gaps)

    def read_certificate(self, account: Account) -> str | None:
        return self.read_account(account).certificate

    def read_account(self, account: Account) -> AccountSnapshot:
        self.reads += 1
        key = account.email_key
        if key in self.unreadable:
            raise Unavailable("délai dépassé à la lecture")
        if self.flaky.get(key, 0) > 0:
            self.flaky[key] -= 1
            raise Unavailable("délai dépassé à la lecture")
        if key in self.blind_after_write and any(k == key for k, _ in self.writes):
            raise Unavailable("délai dépassé à la relecture")
        values = tuple(self.fields.get(account.id, {}).items())
        return AccountSnapshot(self.stored.get(account.id), values)

    def write_certificate(self, account: Account, pem: str) -> None:
        key = account.email_key
        if key in self.unavailable:
            raise Unavailable("délai dépassé")
        if key in self.reject:
            raise Rejected("Certificat déjà utilisé par un autre compte")
        self.writes.append((key, pem))
        if key not in self.swallow:
            self.stored[account.id] = pem
        if key in self.garble:
            name, value = self.garble[key]
            self.fields[account.id][name] = value
        if key in self.ambiguous:
            raise AmbiguousWrite("réponse perdue")

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        self.created.append(agent.email_key)
        return self.add(agent.email, pem)

    def close(self) -> None:
        pass
