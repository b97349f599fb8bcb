"""The state's reminder log: which expiry reminders already went out."""

from __future__ import annotations

from datetime import datetime

from certsync.state.base import StoreBase
from certsync.state.models import _parse_ts, _ts


class ReminderLog(StoreBase):
    """Sent reminders, so that each goes out once per certificate and threshold."""

    def was_notified(self, email: str, sha256: str, threshold_days: int) -> bool:
        """Whether the reminder for this certificate and threshold already went out."""
        rows = self._query(
            "SELECT 1 FROM notifications WHERE email_key = ? AND sha256 = ? AND threshold_days = ?",
            (email.casefold(), sha256, threshold_days),
        )
        return bool(rows)

    def reminders_sent(self) -> dict[tuple[str, str], datetime]:
        """(e-mail key, SHA-256) → when the last reminder for that certificate went out."""
        rows = self._query(
            "SELECT email_key, sha256, MAX(sent_at) AS sent_at FROM notifications "
            "GROUP BY email_key, sha256"
        )
        return {(r["email_key"], r["sha256"]): _parse_ts(r["sent_at"]) for r in rows}

    def record_notification(
        self, *, email: str, sha256: str, threshold_days: int, sent_at: datetime, run_id: str
    ) -> bool:
        """Record a sent reminder; False when it was already recorded."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?)",
                (email.casefold(), sha256, threshold_days, _ts(sent_at), run_id),
            )
            return cursor.rowcount == 1
