"""How long each stage of a run took, in the developer log (English)."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("certsync.pipeline")


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log how long a stage took (developer log, English)."""
    started = time.perf_counter()
    yield
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log.debug(
        "stage %s took %.3f s (peak RSS so far %.0f MB)",
        name,
        time.perf_counter() - started,
        peak_mb,
        extra={"stage": name, "peak_rss_mb": round(peak_mb)},
    )
