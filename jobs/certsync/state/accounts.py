"""The state's view of accounts: what certsync last put on each, and the audit of its writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from certsync.state.base import StoreBase
from certsync.state.models import AccountRecord, AuditEntry, _from_row, _ts


class AccountBook(StoreBase):
    """Reads of accounts, certificates seen on them and audit entries."""

    def certificate_der(self, sha256: str) -> bytes | None:
        """The DER of a certificate certsync has seen on an account (pushed or replaced)."""
        rows = self._query("SELECT der FROM certificates WHERE sha256 = ?", (sha256,))
        return bytes(rows[0]["der"]) if rows else None

    def account(self, email: str, platform: str) -> AccountRecord | None:
        """What certsync last put on this account, if anything."""
        rows = self._query(
            "SELECT * FROM accounts WHERE email_key = ? AND platform = ?",
            (email.casefold(), platform),
        )
        return _from_row(AccountRecord, rows[0]) if rows else None

    def accounts(self, platform: str | None = None) -> list[AccountRecord]:
        """Every account certsync has written to, by e-mail."""
        sql, args = "SELECT * FROM accounts", tuple[str, ...]()
        if platform is not None:
            sql, args = sql + " WHERE platform = ?", (platform,)
        return [
            _from_row(AccountRecord, r)
            for r in self._query(sql + " ORDER BY email_key, platform", args)
        ]

    def expiring(self, within_days: int, as_of: date) -> list[AccountRecord]:
        """Accounts whose last pushed certificate ends before the end of day `as_of + within`."""
        limit = datetime.combine(as_of + timedelta(days=within_days + 1), datetime.min.time(), UTC)
        rows = self._query(
            "SELECT * FROM accounts WHERE not_after < ? ORDER BY not_after, email_key",
            (_ts(limit),),
        )
        return [_from_row(AccountRecord, r) for r in rows]

    def audit_for_run(self, run_id: str) -> list[AuditEntry]:
        """The writes one run made, in order."""
        rows = self._query("SELECT * FROM audit WHERE run_id = ? ORDER BY seq", (run_id,))
        return [_from_row(AuditEntry, r) for r in rows]

    def audit_entries(self, email: str | None = None) -> list[AuditEntry]:
        """Every write recorded, oldest first; only one account's when `email` is given."""
        if email is None:
            rows = self._query("SELECT * FROM audit ORDER BY seq")
        else:
            rows = self._query(
                "SELECT * FROM audit WHERE email_key = ? ORDER BY seq", (email.casefold(),)
            )
        return [_from_row(AuditEntry, r) for r in rows]
