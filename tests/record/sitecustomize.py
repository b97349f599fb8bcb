"""Record the finding codes a process produces: pytest's own processes and the subprocesses
tests start (this folder is on their PYTHONPATH; see tests/produced_codes.py)."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "CERTSYNC_TEST_CODES_DIR"


def install() -> set[str]:
    """Record the code of every Finding built or unpickled in this process; the codes so far."""
    from certsync.findings import Finding

    already: set[str] | None = getattr(Finding.__init__, "produced", None)
    if already is not None:
        return already
    produced: set[str] = set()
    init, setstate = Finding.__init__, getattr(Finding, "__setstate__")  # noqa: B009

    def recording_init(self: Finding, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if not recording_init.paused:  # type: ignore[attr-defined]
            produced.add(self.code.value)

    def recording_setstate(self: Finding, state: Any) -> None:
        setstate(self, state)
        if not recording_init.paused:  # type: ignore[attr-defined]
            produced.add(self.code.value)

    recording_init.produced = produced  # type: ignore[attr-defined]
    recording_init.paused = False  # type: ignore[attr-defined]
    Finding.__init__ = recording_init  # type: ignore[method-assign]
    Finding.__setstate__ = recording_setstate  # type: ignore[attr-defined]
    return produced


@contextmanager
def unrecorded() -> Iterator[None]:
    """Findings built here do not count as produced (a test that walks the whole catalogue)."""
    from certsync.findings import Finding

    recorder: Any = Finding.__init__
    recorder.paused = True
    try:
        yield
    finally:
        recorder.paused = False


def _subprocess() -> None:
    """In a subprocess a test started: record, and leave the codes in a file at exit."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    try:
        import certsync.findings  # noqa: F401 - a process of another project records nothing
    except ImportError:
        return
    produced = install()

    def write() -> None:
        if produced:
            path = Path(folder) / f"codes-{os.getpid()}.txt"
            path.write_text("\n".join(sorted(produced)), encoding="utf-8")

    atexit.register(write)


_subprocess()
