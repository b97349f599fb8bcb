"""One certsync run at a time per state file, with flock on `<state>.lock`."""

from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime
from pathlib import Path
from types import TracebackType

from certsync.errors import LockedError


def lock_path(state: Path) -> Path:
    """The lock file that goes with a state file."""
    return state.with_name(state.name + ".lock")


class RunLock:
    """An exclusive, non-blocking lock; the kernel releases it if the holder dies.

    flock rather than a PID file: a lock left by a killed process never blocks the next run,
    and no PID can be reused by accident.
    """

    def __init__(self, state: Path, *, run_id: str, started: datetime) -> None:
        self.path = lock_path(state)
        self.run_id = run_id
        self.started = started
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockedError naming the run that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The file is never deleted: unlinking a lock file lets two processes lock two inodes.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockedError(
                f"Un autre traitement certsync est en cours sur ce fichier d'état ({holder}).",
                hint=f"Attendez sa fin ou, s'il est bloqué, arrêtez ce processus ; le verrou "
                f"{self.path} est libéré automatiquement à l'arrêt du processus.",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        holder_info = {
            "pid": os.getpid(),
            "started": self.started.isoformat(),
            "run_id": self.run_id,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder_info) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the next run in (closing the descriptor drops the flock)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    # The holder writes its details just after locking: they may be briefly missing.
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        started = datetime.fromisoformat(data["started"])
        return (
            f"processus {int(data['pid'])}, démarré le {started:%d/%m/%Y à %H:%M:%S %Z}".rstrip()
            + f", exécution {data['run_id']}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "processus inconnu"
