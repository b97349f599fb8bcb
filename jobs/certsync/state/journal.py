"""The state's write journal: writes announced before they reach a platform, then recorded.

A write is marked in flight (with what it replaces) before the platform is written, and
recorded (account row, audit entry, both DERs) once read back; a run killed in between
leaves the mark for the next run to settle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from certsync.state.base import StoreBase
from certsync.state.models import (
    Action,
    AuditEntry,
    InFlight,
    StoredCert,
    _from_row,
    _ts,
    _utc,
)

_INSERT_IN_FLIGHT = """
    INSERT OR REPLACE INTO in_flight (email_key, platform, account_id, email, new_sha256, run_id,
        started_at, action, old_known, old_sha256)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# Marks that do not know what the account held (kept for callers that only need the mark).
_INSERT_IN_FLIGHT_LEGACY = """
    INSERT OR REPLACE INTO in_flight (email_key, platform, account_id, email, new_sha256, run_id,
        started_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""

_INSERT_AUDIT = """
    INSERT INTO audit (at, run_id, action, platform, email_key, email, account_id, old_sha256,
        new_sha256, source_file)
    VALUES (:at, :run_id, :action, :platform, :email_key, :email, :account_id, :old_sha256,
        :new_sha256, :source_file)
"""

# On rollback the names and organisation already known are kept when empty ones are given.
_UPSERT_ACCOUNT = """
    INSERT INTO accounts VALUES (:email_key, :platform, :account_id, :email, :prenom, :nom,
        :organisation, :sha256, :subject, :common_name, :not_after, :pushed_at, :run_id)
    ON CONFLICT (email_key, platform) DO UPDATE SET
        account_id = excluded.account_id,
        email = excluded.email,
        prenom = CASE WHEN excluded.prenom = '' THEN prenom ELSE excluded.prenom END,
        nom = CASE WHEN excluded.nom = '' THEN nom ELSE excluded.nom END,
        organisation = CASE WHEN excluded.organisation = ''
            THEN organisation ELSE excluded.organisation END,
        sha256 = excluded.sha256,
        subject = excluded.subject,
        common_name = excluded.common_name,
        not_after = excluded.not_after,
        pushed_at = excluded.pushed_at,
        run_id = excluded.run_id
"""


class WriteJournal(StoreBase):
    """Pending writes (in flight), confirmed writes (audit) and the accounts they touched."""

    def mark_in_flight(
        self,
        *,
        run_id: str,
        platform: str,
        email: str,
        account_id: str,
        new_sha256: str,
        at: datetime,
    ) -> None:
        """Record, before writing to the platform, that a write to this account is starting."""
        self.mark_in_flight_many(
            run_id=run_id, platform=platform, writes=[(email, account_id, new_sha256)], at=at
        )

    def mark_in_flight_many(
        self,
        *,
        run_id: str,
        platform: str,
        writes: Iterable[tuple[str, str, str]],
        at: datetime,
    ) -> None:
        """mark_in_flight for many (e-mail, account id, new SHA-256) at once, one transaction."""
        rows = (
            (email.casefold(), platform, account_id, email, new_sha256, run_id, _ts(at))
            for email, account_id, new_sha256 in writes
        )
        with self._tx() as db:
            db.executemany(_INSERT_IN_FLIGHT_LEGACY, rows)

    def intend_write(
        self,
        *,
        run_id: str,
        platform: str,
        email: str,
        account_id: str,
        old_der: bytes | None,
        new_sha256: str,
        at: datetime,
        action: Action = Action.PUSH,
    ) -> None:
        """Record durably, before writing to the platform, the write and what it replaces.

        `old_der` is the certificate the account holds now (None: empty). Should the run die
        after the write, the next run finds this record, reads the account and audits the
        write with this previous certificate (see `InFlight`).
        """
        old_sha = hashlib.sha256(old_der).hexdigest() if old_der is not None else None
        with self._tx() as db:
            if old_der is not None:
                db.execute("INSERT OR IGNORE INTO certificates VALUES (?, ?)", (old_sha, old_der))
            db.execute(
                _INSERT_IN_FLIGHT,
                (
                    email.casefold(), platform, account_id, email, new_sha256, run_id, _ts(at),
                    str(action), 1, old_sha,
                ),
            )  # fmt: skip

    def clear_in_flight(self, email: str, platform: str) -> None:
        """Forget a pending write (it failed cleanly, or reconciliation settled it)."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM in_flight WHERE email_key = ? AND platform = ?",
                (email.casefold(), platform),
            )

    def in_flight(self, platform: str | None = None) -> list[InFlight]:
        """Writes left unconfirmed by a run that was killed; read the account before rewriting."""
        sql = "SELECT * FROM in_flight"
        args: tuple[Any, ...] = ()
        if platform is not None:
            sql, args = sql + " WHERE platform = ?", (platform,)
        rows = self._query(sql + " ORDER BY started_at, email_key", args)
        return [_from_row(InFlight, r) for r in rows]

    def record_write(
        self,
        *,
        run_id: str,
        platform: str,
        account_id: str,
        email: str,
        cert: StoredCert,
        old_der: bytes | None,
        at: datetime,
        action: Action = Action.PUSH,
        prenom: str = "",
        nom: str = "",
        organisation: str = "",
        source_file: str | None = None,
    ) -> AuditEntry:
        """Record a confirmed write (account row, audit entry, both DERs); clear the pending one."""
        email_key = email.casefold()
        old_sha = hashlib.sha256(old_der).hexdigest() if old_der is not None else None
        with self._tx() as db:
            for der, sha in ((old_der, old_sha), (cert.der, cert.sha256)):
                if der is not None:
                    db.execute("INSERT OR IGNORE INTO certificates VALUES (?, ?)", (sha, der))
            row = _account_row(
                run_id, platform, account_id, email, cert, at, (prenom, nom, organisation)
            )
            db.execute(_UPSERT_ACCOUNT, row)
            entry = {
                "at": _ts(at),
                "run_id": run_id,
                "action": str(action),
                "platform": platform,
                "email_key": email_key,
                "email": email,
                "account_id": account_id,
                "old_sha256": old_sha,
                "new_sha256": cert.sha256,
                "source_file": source_file,
            }
            cursor = db.execute(_INSERT_AUDIT, entry)
            db.execute(
                "DELETE FROM in_flight WHERE email_key = ? AND platform = ?", (email_key, platform)
            )
        assert cursor.lastrowid is not None
        return AuditEntry(
            cursor.lastrowid, _utc(at), run_id, action, platform, email_key, email, account_id,
            old_sha, cert.sha256, source_file,
        )  # fmt: skip

    def note_account(
        self,
        *,
        run_id: str,
        platform: str,
        account_id: str,
        email: str,
        cert: StoredCert,
        at: datetime,
        prenom: str = "",
        nom: str = "",
        organisation: str = "",
    ) -> None:
        """Remember the certificate an account was found holding, without an audit entry.

        For an account that already held the certificate certsync was about to push: certsync
        did not write it, so nothing is audited (and a rollback leaves it alone).
        """
        row = _account_row(
            run_id, platform, account_id, email, cert, at, (prenom, nom, organisation)
        )
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO certificates VALUES (?, ?)", (cert.sha256, cert.der))
            db.execute(_UPSERT_ACCOUNT, row)
            db.execute(
                "DELETE FROM in_flight WHERE email_key = ? AND platform = ?",
                (row["email_key"], platform),
            )


def _account_row(
    run_id: str,
    platform: str,
    account_id: str,
    email: str,
    cert: StoredCert,
    at: datetime,
    names: tuple[str, str, str],
) -> dict[str, str]:
    """The accounts table's row for what an account holds now (names: prénom, nom, organisme)."""
    prenom, nom, organisation = names
    return {
        "email_key": email.casefold(), "platform": platform, "account_id": account_id,
        "email": email, "prenom": prenom, "nom": nom, "organisation": organisation,
        "sha256": cert.sha256, "subject": cert.subject, "common_name": cert.common_name,
        "not_after": _ts(cert.not_after), "pushed_at": _ts(at), "run_id": run_id,
    }  # fmt: skip
