"""The retry policy of one request: which failures are transient, how long to wait, when to stop."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from certsync.connectors.interface import AmbiguousWrite, Unavailable

#: Statuses that mean "try again later": the request was not (or may not have been) served.
TRANSIENT_STATUSES = frozenset({408, 425, 429})
#: Statuses after which a write certainly was not processed, so it may be resent blindly.
#: 408/425/429 are refused before processing; 503 is what a proxy or an overloaded server
#: answers without running the application (an assumption: a 500/502/504 may come after it ran).
WRITE_SAFE_STATUSES = frozenset({408, 425, 429, 503})


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return max(0.0, delta)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to insist on one request."""

    max_attempts: int = 5
    """Attempts per request, first included."""
    backoff_initial: float = 0.5
    """Scale of the exponential backoff (seconds)."""
    backoff_max: float = 30.0
    """Ceiling of one backoff wait (seconds)."""
    retry_after_cap: float = 120.0
    """A Retry-After longer than this is not waited for: the item is left pending."""
    sleep: Callable[[float], None] = field(default=time.sleep)
    """Injected so that tests never wait for real."""


class RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class GiveUp(Exception):
    """Not retried: turned into Unavailable/AmbiguousWrite with its reason."""

    def __init__(self, reason: str, *, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous


def not_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (refused, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableStatus | requests.ConnectionError | requests.Timeout)


def unavailable_after(exc: BaseException, attempts: int) -> Unavailable:
    """What the connector sees once the retry policy gave up."""
    if isinstance(exc, GiveUp):
        return (AmbiguousWrite if exc.ambiguous else Unavailable)(exc.reason)
    if isinstance(exc, RetryableStatus):
        return Unavailable(f"HTTP {exc.status} après {attempts} tentatives")
    if isinstance(exc, requests.Timeout):
        return Unavailable(f"délai de réponse dépassé après {attempts} tentatives")
    return Unavailable(f"connexion impossible après {attempts} tentatives")
