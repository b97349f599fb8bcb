"""The global request-rate cap shared by all the workers of one platform."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """The global request-rate cap shared by all workers: never more than `rate` starts per second.

    Two rules: starts are spaced 1/rate apart (a token bucket of depth one, so no bursts), and
    the Nth previous start must be more than one second (plus a small margin for scheduling
    and network jitter) in the past, where N = rate. Spacing alone would let a one-second
    window hold rate + 1 starts, which is what an operator counting requests would see.
    """

    def __init__(
        self,
        rate_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.02,
    ) -> None:
        self._interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._window = max(1, int(rate_per_second))
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._starts: deque[float] = deque(maxlen=self._window)
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until this caller may send one request."""
        if not self._interval:
            return
        # The lock is held while sleeping: callers are served one after the other anyway, and
        # recording the real start time (a thread may wake late) keeps the window rule exact.
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if len(self._starts) == self._window:
                slot = max(slot, self._starts[0] + 1.0 + self._margin)
            if slot > now:
                self._sleep(slot - now)
            start = max(self._clock(), slot)
            self._starts.append(start)
            self._next = start + self._interval
