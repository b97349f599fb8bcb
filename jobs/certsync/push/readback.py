"""One certificate write with its read-back of the whole account, shared by push and rollback."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from certsync.connectors.interface import (
    Account,
    AccountSnapshot,
    AmbiguousWrite,
    Connector,
    Rejected,
    Unavailable,
)
from certsync.connectors.pem import sha256_of_text
from certsync.errors import CertsyncError


class Landing(StrEnum):
    """What the read-back proved about a write that was sent."""

    LANDED = "landed"
    """The account holds the certificate written."""
    NOT_LANDED = "not_landed"
    """The account holds another certificate (or none)."""
    UNKNOWN = "unknown"
    """The write was sent but the account could not be read back: it may or may not be there."""


@dataclass(frozen=True, slots=True)
class Verified:
    """The result of a write and its read-back."""

    landing: Landing
    after: AccountSnapshot | None = None
    found_sha256: str | None = None
    """SHA-256 of the certificate read back (None: none, or unreadable text)."""
    changed: tuple[tuple[str, str, str], ...] = ()
    """(field, value before, value after) for every other field the write changed."""
    reason: str = ""
    """Why the outcome is unknown (French, the platform's failure)."""
    error: CertsyncError | None = None
    """A run-stopping error met after the write was sent (credentials lost, protocol)."""

    def changes_text(self) -> str:
        """The changed fields, in French, each with both values."""
        return " ; ".join(
            f"le champ « {name} » valait « {old} » et vaut maintenant « {new} »"
            for name, old, new in self.changed
        )


ABSENT = "(absent)"


def field_changes(
    before: AccountSnapshot, after: AccountSnapshot
) -> tuple[tuple[str, str, str], ...]:
    """Every field (other than the certificate) whose value differs, with both values."""
    old, new = before.field_map(), after.field_map()
    names = dict.fromkeys([*old, *new])
    return tuple(
        (name, old.get(name, ABSENT), new.get(name, ABSENT))
        for name in names
        if old.get(name) != new.get(name)
    )


def verdict(before: AccountSnapshot | None, after: AccountSnapshot, target: str) -> Verified:
    """Compare a read-back with what the account held before and the certificate written."""
    found = sha256_of_text(after.certificate)
    landing = Landing.LANDED if found == target else Landing.NOT_LANDED
    changed = field_changes(before, after) if before is not None else ()
    return Verified(landing, after, found, changed)


def write_verified(
    connector: Connector,
    account: Account,
    before: AccountSnapshot | None,
    pem: str,
    target: str,
) -> Verified:
    """Write `pem` (SHA-256 `target`), read the whole account back and compare.

    The write is sent by the connector under the HTTP retry policy alone (`RetryPolicy`, at most
    `max_attempts` tries, resent only when the platform certainly did not receive it); nothing
    here sends it again. Raises Rejected or Unavailable only when nothing can have been stored.
    """
    try:
        connector.write_certificate(account, pem)
    except AmbiguousWrite as exc:
        return _after_lost_answer(connector, account, before, target, exc.reason)
    except (Rejected, Unavailable):
        raise
    except CertsyncError as stop:
        return Verified(Landing.UNKNOWN, reason=stop.message, error=stop)
    return _read_back(connector, account, before, target, "")


def _after_lost_answer(
    connector: Connector,
    account: Account,
    before: AccountSnapshot | None,
    target: str,
    lost: str,
) -> Verified:
    """A write whose answer was lost is read back, never resent: it may still land.

    Found on the account, it is judged like any write; not (yet) there, its outcome is unknown:
    the in-flight mark stays and the next run reads the account again before writing.
    """
    verified = _read_back(connector, account, before, target, lost)
    if verified.landing is Landing.NOT_LANDED and not verified.changed:
        return Verified(
            Landing.UNKNOWN, reason=f"écriture sans réponse ({lost}) ; le certificat n'est pas relu"
        )
    return verified


def _read_back(
    connector: Connector,
    account: Account,
    before: AccountSnapshot | None,
    target: str,
    lost: str,
) -> Verified:
    """Read the whole account after a write and compare it with `before` and `target`."""
    try:
        after = connector.read_account(account)
    except Unavailable as exc:
        reason = f"{lost} ; relecture : {exc.reason}" if lost else exc.reason
        return Verified(Landing.UNKNOWN, reason=reason)
    except CertsyncError as stop:
        return Verified(Landing.UNKNOWN, reason=stop.message, error=stop)
    return verdict(before, after, target)
