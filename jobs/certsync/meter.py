"""Progress of a run's long stages (reading files, reading accounts, pushing, reading back):
bars with rate and time left on a terminal, a periodic line in the log otherwise."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from certsync.logs import progress_console

log = logging.getLogger("certsync.progress")

#: Seconds between two progress lines in the log when there is no terminal.
LOG_EVERY = 30.0


class RateColumn(ProgressColumn):
    """Items per second, French style (« 12,5/s »)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("–/s", style="progress.data.speed")
        return Text(f"{speed:.1f}/s".replace(".", ","), style="progress.data.speed")


@dataclass(slots=True)
class _Count:
    description: str
    total: int
    done: int = 0
    started: float = 0.0
    logged: float = 0.0


class Meter:
    """Several counted tasks; thread-safe (pushes advance it from worker threads)."""

    def __init__(self, *, every: float = LOG_EVERY, clock: Callable[[], float] = time.monotonic):
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, _Count] = {}
        self._tasks: dict[str, Any] = {}
        console = progress_console()
        self._bars = (
            RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                RateColumn(),
                TimeRemainingColumn(),
                console=console,
            )
            if console is not None
            else None
        )

    def __enter__(self) -> Meter:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for key in list(self._counts):
            self.finish(key)
        if self._bars is not None:
            self._bars.stop()

    def start(self, key: str, description: str, total: int) -> None:
        """A new task of `total` items (French description, shown to the administrator)."""
        now = self._clock()
        with self._lock:
            self._counts[key] = _Count(description, total, started=now, logged=now)
        if self._bars is not None:
            self._tasks[key] = self._bars.add_task(description, total=total)

    def advance(self, key: str, n: int = 1) -> None:
        """`n` more items of task `key` done (ignored for a task not started)."""
        with self._lock:
            count = self._counts.get(key)
            if count is None:
                return
            count.done = min(count.total, count.done + n) if count.total else count.done + n
            now = self._clock()
            due = self._bars is None and now - count.logged >= self._every
            if due:
                count.logged = now
        if self._bars is not None:
            self._bars.advance(self._tasks[key], n)
        elif due:
            self._log(count, now)

    def finish(self, key: str) -> None:
        """Task `key` is over: its last line is logged (without a terminal)."""
        with self._lock:
            count = self._counts.pop(key, None)
        now = self._clock()
        # A stage shorter than the interval needs no progress line at all.
        if count is not None and self._bars is None and now - count.started >= self._every:
            self._log(count, now)

    def _log(self, count: _Count, now: float) -> None:
        elapsed = max(now - count.started, 1e-9)
        rate = count.done / elapsed
        left = (count.total - count.done) / rate if rate and count.total else None
        log.info(
            "progress: %s %d/%d (%.1f/s%s)",
            count.description,
            count.done,
            count.total,
            rate,
            f", about {left:.0f} s left" if left is not None else "",
            extra={"stage": count.description, "done": count.done, "total": count.total},
        )


class WatchedConnector:
    """A connector seen from outside the push engine: each account read, write and read-back
    advances the meter, and every other call goes straight through.

    Reads before the plan is known count as "reading the accounts", reads after it as
    read-backs (the engine reads each account again after writing it).
    """

    def __init__(self, inner: object, meter: Meter) -> None:
        self._inner = inner
        self._meter = meter
        self.planned = False
        """Set once the plan is known: later reads are read-backs."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _read(self) -> None:
        self._meter.advance("readback" if self.planned else "accounts")

    def read_certificate(self, *args: Any, **kwargs: Any) -> Any:
        found = self._inner.read_certificate(*args, **kwargs)  # type: ignore[attr-defined]
        self._read()
        return found

    def read_account(self, *args: Any, **kwargs: Any) -> Any:
        found = self._inner.read_account(*args, **kwargs)  # type: ignore[attr-defined]
        self._read()
        return found

    def write_certificate(self, *args: Any, **kwargs: Any) -> Any:
        done = self._inner.write_certificate(*args, **kwargs)  # type: ignore[attr-defined]
        self._meter.advance("push")
        return done

    def create_account(self, *args: Any, **kwargs: Any) -> Any:
        done = self._inner.create_account(*args, **kwargs)  # type: ignore[attr-defined]
        self._meter.advance("push")
        return done
