"""The state's records and their mapping to SQLite rows."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from cryptography import x509
from cryptography.x509.oid import NameOID

_R = TypeVar("_R")


#: Parameter names whose values never reach the state file.
_SECRET_WORDS = ("password", "passwd", "token", "secret", "credential", "user")


class Action(StrEnum):
    """What an audit entry records."""

    PUSH = "push"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class StoredCert:
    """The public facts about a certificate that the state keeps."""

    der: bytes
    """DER encoding (public data)."""
    sha256: str
    """Lowercase hex SHA-256 of the DER."""
    subject: str
    """RFC 4514 subject."""
    common_name: str
    """Subject CN, or empty."""
    not_after: datetime
    """End of validity (UTC)."""

    @classmethod
    def from_der(cls, der: bytes) -> StoredCert:
        """Parse a DER certificate (rollback reads certificates back from the platform)."""
        cert = x509.load_der_x509_certificate(der)
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        cn = cns[0].value if cns else ""
        return cls(
            der,
            hashlib.sha256(der).hexdigest(),
            cert.subject.rfc4514_string(),
            cn if isinstance(cn, str) else cn.decode("utf-8", "replace"),
            cert.not_valid_after_utc,
        )


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """The certificate certsync last put on one platform account."""

    email_key: str
    platform: str
    account_id: str
    email: str
    """E-mail as written in the roster."""
    prenom: str
    nom: str
    organisation: str
    sha256: str
    subject: str
    common_name: str
    not_after: datetime
    pushed_at: datetime
    run_id: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One write certsync made to an account; the table is append-only."""

    seq: int
    at: datetime
    run_id: str
    action: Action
    platform: str
    email_key: str
    email: str
    account_id: str
    old_sha256: str | None
    """Certificate on the account before the write; None when it was empty."""
    new_sha256: str
    source_file: str | None = None
    """The certificate file pushed (relative to the certificate folder); None for a rollback."""


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """An administrator's decision kept in the state: this certificate goes to this e-mail."""

    sha256: str
    email: str
    """E-mail as the administrator chose it, or empty for « ignorer »."""
    decided_at: datetime
    source: str
    """Where the decision came from (the workbook's path and row)."""

    @property
    def ignore(self) -> bool:
        """« ignorer »: the certificate is never used."""
        return not self.email


@dataclass(frozen=True, slots=True)
class InFlight:
    """A write that started and was not confirmed: reconcile by reading the account first."""

    email_key: str
    platform: str
    account_id: str
    email: str
    new_sha256: str
    run_id: str
    started_at: datetime
    action: Action = Action.PUSH
    """A push, or a rollback putting an old certificate back."""
    old_known: bool = False
    """True when the account was read before the write and `old_sha256` says what it held
    (None: empty); False only for marks left by older versions."""
    old_sha256: str | None = None
    """The certificate the write replaces; its DER is in the certificates table."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One row of `certsync history`."""

    run_id: str
    command: str
    started: datetime
    ended: datetime | None
    """None while running, or when the run was killed."""
    exit_code: int | None
    parameters: Mapping[str, Any]
    counts: Mapping[str, int]
    report_path: str | None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the state stores UTC instants only")
    return moment.astimezone(UTC)


def _ts(moment: datetime) -> str:
    # One fixed format, so that text comparison in SQL orders instants correctly.
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def clean_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters safe to store: credential-looking keys dropped, values made JSON-friendly."""
    safe: dict[str, Any] = {}
    for key, value in parameters.items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            continue
        if isinstance(value, Mapping):
            safe[key] = clean_parameters(value)
        elif isinstance(value, str | int | float | bool) or value is None:
            safe[key] = value
        elif isinstance(value, list | tuple):
            safe[key] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            safe[key] = str(value)
    return safe


# -- row mapping -------------------------------------------------------------------------------


_TIMESTAMPS = frozenset(
    {"started", "ended", "not_after", "pushed_at", "at", "started_at", "decided_at"}
)


def _from_row(cls: type[_R], row: sqlite3.Row) -> _R:
    # Column names equal field names; only timestamps, JSON and the action need converting.
    values: dict[str, Any] = {}
    for name in (f.name for f in fields(cls)):  # type: ignore[arg-type]
        value = row[name]
        if name in _TIMESTAMPS and value is not None:
            value = _parse_ts(value)
        elif name in ("parameters", "counts"):
            value = json.loads(value) if value else {}
        elif name == "action":
            value = Action(value)
        elif name == "old_known":
            value = bool(value)
        values[name] = value
    return cls(**values)
