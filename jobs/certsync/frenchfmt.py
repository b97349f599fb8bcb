"""Numbers and dates as a French reader expects them: 12 345, 01/12/2026 13:16."""

from __future__ import annotations

import datetime as dt

#: French thousands separator: a narrow no-break space, so that a number never wraps.
THOUSANDS = "\u202f"


def fr_int(n: int) -> str:
    """12345 → « 12 345 »."""
    return f"{n:,}".replace(",", THOUSANDS)


def fr_datetime(moment: dt.datetime) -> str:
    """A moment as 01/12/2026 13:16 (local time of the machine)."""
    return f"{moment.astimezone():%d/%m/%Y %H:%M}"


def fr_date(moment: dt.datetime | dt.date) -> str:
    """A day as 01/12/2026."""
    return f"{moment:%d/%m/%Y}"
