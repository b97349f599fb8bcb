"""The connector protocol, its records and its exceptions."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def email_key(self) -> str:
        """Matching key: case-folded e-mail."""
        return self.email.casefold()


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
    """What the push stage needs from a platform."""

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

    def close(self) -> None:
        """Release HTTP sessions."""
        ...
