"""The circuit breaker that stops a push when the platform stops answering."""

from __future__ import annotations

import threading


class CircuitBreaker:
    """Opens after `threshold` consecutive unavailability failures; any success resets it."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self._failures = 0
        self._open = False
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """True once tripped (it never closes during a run)."""
        return self._open

    def success(self) -> None:
        """A call got an answer."""
        with self._lock:
            self._failures = 0

    def failure(self) -> None:
        """A call failed for unavailability, after its retries."""
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                self._open = True


BREAKER_REASON = "la plateforme ne répond plus, envois arrêtés par le disjoncteur"
