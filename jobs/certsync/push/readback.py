"""One certificate write with its read-back of the whole account, shared by push and rollback."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from certsync.connectors.interface import (
    Account,
    AccountSnapshot,
    AmbiguousWrite,
    Connector,
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
    rounds: int,
) -> Verified:
    """Write `pem` (SHA-256 `target`), read the whole account back and compare.

    Raises Rejected or Unavailable only when nothing can have been stored. A write whose answer
    was lost is read back before being sent again, so that a timeout never becomes two writes.
    """
    lost = ""
    for _ in range(max(1, rounds)):
        try:
            connector.write_certificate(account, pem)
        except AmbiguousWrite as exc:
            lost = exc.reason
            try:
                seen = connector.read_account(account)
            except Unavailable as again:
                return Verified(
                    Landing.UNKNOWN, reason=f"{exc.reason} ; relecture : {again.reason}"
                )
            except CertsyncError as stop:
                return Verified(Landing.UNKNOWN, reason=stop.message, error=stop)
            if sha256_of_text(seen.certificate) == target:
                return verdict(before, seen, target)
            continue
        except Unavailable:
            if lost:
                # An earlier write may still land: its outcome is unknown, not "nothing written".
                return Verified(Landing.UNKNOWN, reason=lost)
            raise
        except CertsyncError as stop:
            return Verified(Landing.UNKNOWN, reason=stop.message, error=stop)
        break
    else:
        return Verified(Landing.UNKNOWN, reason=f"écriture sans réponse ({lost})")
    try:
        after = connector.read_account(account)
    except Unavailable as exc:
        return Verified(Landing.UNKNOWN, reason=exc.reason)
    except CertsyncError as stop:
        return Verified(Landing.UNKNOWN, reason=stop.message, error=stop)
    return verdict(before, after, target)
