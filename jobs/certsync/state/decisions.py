"""The administrator's decisions kept in the state (imported from the workbook or the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from certsync.state.base import StoreBase
from certsync.state.models import StoredDecision, _from_row, _ts


class DecisionTable(StoreBase):
    """Which e-mails a certificate goes to, as decided by the administrator."""

    def decisions(self) -> list[StoredDecision]:
        """Every decision kept, by certificate then e-mail."""
        rows = self._query("SELECT * FROM decisions ORDER BY sha256, email_key")
        return [_from_row(StoredDecision, r) for r in rows]

    def set_decision(
        self, sha256: str, emails: Sequence[str], *, decided_at: datetime, source: str
    ) -> None:
        """Replace the decision for one certificate: these e-mails, or none for « ignorer »."""
        targets = list(emails) or [""]
        with self._tx() as db:
            db.execute("DELETE FROM decisions WHERE sha256 = ?", (sha256,))
            db.executemany(
                "INSERT INTO decisions VALUES (?, ?, ?, ?, ?)",
                [(sha256, e.casefold(), e, _ts(decided_at), source) for e in targets],
            )

    def remove_decision(self, sha256: str, email: str | None = None) -> int:
        """Forget a certificate's decision (or only its line for `email`); how many went."""
        with self._tx() as db:
            if email is None:
                cursor = db.execute("DELETE FROM decisions WHERE sha256 = ?", (sha256,))
            else:
                cursor = db.execute(
                    "DELETE FROM decisions WHERE sha256 = ? AND email_key = ?",
                    (sha256, email.casefold()),
                )
            return cursor.rowcount
