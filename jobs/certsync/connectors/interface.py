"""The connector protocol, its records and its exceptions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from certsync.records import Agent


@dataclass(frozen=True, slots=True)
class Account:
    """One account on the platform."""

    id: str
    """Platform identifier (socle profil_id, S²LOW id, Pastell id_u)."""
    email: str
    """E-mail / login as the platform stores it."""
    nom: str = ""
    """Family name, if the platform lists it."""
    prenom: str = ""
    """Given name, if the platform lists it."""
    active: bool = True
    """False for an account the platform lists but that must never be written: a disabled
    socle agent (its modify page redirects to View), an S²LOW user with `status` 0, a Pastell
    user with `active` false."""
    organisation: str = ""
    """The organisation (socle organism id, S²LOW authority id, Pastell id_e) the account was
    listed under, when the platform lists per organisation."""

    @property
    def email_key(self) -> str:
        """Matching key: case-folded e-mail."""
        return self.email.casefold()


@dataclass(frozen=True, slots=True)
class AccountListing:
    """Every account a connector could list, and whether the listing is proven complete."""

    accounts: dict[str, Account]
    """Accounts keyed by case-folded e-mail (the only active one, else the first listed)."""
    gaps: tuple[str, ...] = ()
    """French reasons why the listing may be incomplete (an organisation whose export failed,
    a page that could not be read, an entity not walked). Empty means proven complete: every
    page of every organisation or entity was read without error. Accounts are never created
    from an incomplete listing."""
    ambiguous: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Case-folded e-mails that several active accounts share, with their ids: such an agent is
    neither written nor created (which account is theirs would be a guess)."""

    @property
    def complete(self) -> bool:
        """True when no gap was met."""
        return not self.gaps


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Everything the platform holds for one account, as read: the certificate and each field."""

    certificate: str | None
    """The stored certificate text, verbatim, or None if empty."""
    fields: tuple[tuple[str, str], ...] = ()
    """Every other field the platform shows for the account (names, e-mail, login, role,
    permissions, active…), as (name, value) pairs in the platform's own order. Compared
    before/after each write: any difference means the write corrupted the account."""

    def field_map(self) -> dict[str, str]:
        """The fields as a dict (a repeated name keeps its values joined by '|')."""
        out: dict[str, str] = {}
        for name, value in self.fields:
            out[name] = f"{out[name]}|{value}" if name in out else value
        return out


@dataclass(frozen=True, slots=True)
class OrganisationSummary:
    """One organisation or entity a platform lets the account manage (for `certsync check`)."""

    id: str
    label: str
    accounts: int


@dataclass(frozen=True, slots=True)
class Survey:
    """What a read-only first contact learnt (`certsync check`)."""

    identity: str
    """Who the credentials log in as (login, name, role), in French."""
    organisations: tuple[OrganisationSummary, ...]
    can_edit: bool
    """Whether an agent's edit form/endpoint is reachable with the rights needed to write."""
    notes: tuple[str, ...] = ()
    """French remarks for the administrator (rights missing, listing gaps…)."""


class ConnectorError(Exception):
    """Base of connector failures about one account (the run goes on)."""


class Rejected(ConnectorError):
    """The platform refused the write; `message` is the platform's text, verbatim."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unavailable(ConnectorError):
    """The platform did not answer usefully after retries (timeouts, 5xx, 429 beyond the cap)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AmbiguousWrite(Unavailable):
    """A write whose answer was lost (timeout, reset, 5xx): it may or may not have been stored.

    The caller must read the account back before writing again, so that a timeout never
    turns into two writes of the same certificate.
    """


class Connector(Protocol):
    """What the push stage needs from a platform.

    Connectors subclass this protocol explicitly so that they inherit the default
    implementations below of the richer calls (`listing`, `read_account`, `survey`).
    """

    name: str
    """`socle`, `s2low` or `pastell`."""

    def check(self) -> None:
        """Log in and probe the platform; raise PlatformAuthError/PlatformUnavailable/
        PlatformProtocolError (from certsync.errors) before any write."""
        ...

    def list_accounts(self) -> dict[str, Account]:
        """Every account, keyed by case-folded e-mail."""
        ...

    def read_certificate(self, account: Account) -> str | None:
        """The certificate text stored on the account, verbatim, or None if empty."""
        ...

    def write_certificate(self, account: Account, pem: str) -> None:
        """Store `pem` (one certificate, normalised PEM) on the account."""
        ...

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        """Create the account for a roster agent, where the platform allows it.

        `pem`, when given, is stored with the account in the same request (S²LOW refuses to
        create a user without a certificate); the caller still reads it back.
        """
        ...

    def use_sirens(self, sirens: Iterable[str]) -> None:
        """The roster's SIRENs, told before listing; default: nothing to do with them.

        The socle finds a functional administrator's organisations by searching these
        (docs/platforms/socle.md); S²LOW and Pastell list what the account manages.
        """
        return None

    def listing(self) -> AccountListing:
        """Every account with the proof of completeness; default: `list_accounts`, complete."""
        return AccountListing(self.list_accounts())

    def read_account(self, account: Account) -> AccountSnapshot:
        """The certificate and every other field; default: the certificate only."""
        return AccountSnapshot(self.read_certificate(account))

    def survey(self) -> Survey:
        """Read-only first contact; default: log in and count the accounts."""
        self.check()
        accounts = self.list_accounts()
        return Survey(self.name, (OrganisationSummary("", "", len(accounts)),), True)

    def close(self) -> None:
        """Release HTTP sessions."""
        ...
