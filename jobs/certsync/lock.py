"""One certsync run at a time per state file: flock on `<state>.lock` and on the state itself."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from certsync.errors import LockedError, StateError

log = logging.getLogger("certsync.lock")

#: Descriptors of the locks this process holds. A forked child (a reading worker) gets copies
#: of them, and flock belongs to the open file, not to the process: a child that outlived its
#: parent would keep the run locked for ever. Children close their copies at once.
_HELD: set[int] = set()


def _close_held_in_child() -> None:
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


def lock_path(state: Path) -> Path:
    """The lock file that goes with a state file (beside the real file if `state` is a link)."""
    real = state.resolve()
    return real.with_name(real.name + ".lock")


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the lock, as written in the lock file."""

    pid: int | None
    started: str
    run_id: str
    boot_ticks: int | None
    """The holder's start time in clock ticks since boot: tells a reused PID."""
    where: str = ""
    """Host and PID namespace of the holder: its PID means nothing anywhere else."""

    def describe(self) -> str:
        """French description for the administrator."""
        if self.pid is None:
            return "processus inconnu"
        try:
            when = datetime.fromisoformat(self.started)
            text = f"processus {self.pid}, démarré le {when:%d/%m/%Y à %H:%M:%S %Z}".rstrip()
        except ValueError:
            text = f"processus {self.pid}"
        return text + f", exécution {self.run_id}"

    def is_dead(self) -> bool:
        """True only when the holder process certainly no longer runs."""
        if self.pid is None or self.where != _where():
            return False  # another machine or container sharing the folder: cannot tell
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, under another user
        ticks = _start_ticks(self.pid)
        if ticks is None:
            return False
        if ticks == -1:
            return True  # a zombie: dead, not yet reaped
        return self.boot_ticks is not None and ticks != self.boot_ticks


def _where() -> str:
    """This host and PID namespace."""
    try:
        namespace = str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {namespace}"


def _start_ticks(pid: int) -> int | None:
    """A process's start time (clock ticks since boot), -1 for a zombie, None if unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    if fields and fields[0] in ("Z", "X"):
        return -1
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


_REASONS = {
    errno.EACCES: "accès refusé",
    errno.EPERM: "opération non permise",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "disque plein",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.ENAMETOOLONG: "chemin trop long",
}


def os_reason(exc: OSError) -> str:
    """A system error in French for the administrator."""
    return _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def _unusable(path: Path, why: str) -> StateError:
    return StateError(
        f"Le fichier de verrou {path} ne peut pas être utilisé : {why}.",
        hint="Vérifiez le dossier du fichier d'état : certsync doit pouvoir y créer et écrire "
        "ses fichiers, et le verrou doit être un fichier ordinaire (pas un lien).",
    )


def _open_lock_file(path: Path, flags: int = os.O_CREAT) -> int:
    """Open the lock file without following a link; refuse anything but a plain file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _unusable(path, "c'est un lien symbolique (refusé par sécurité)") from None
        raise _unusable(path, os_reason(exc)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        os.close(fd)
        why = "ce n'est pas un fichier ordinaire" if info.st_nlink <= 1 else "il a plusieurs noms"
        raise _unusable(path, f"{why} (refusé par sécurité)")
    return fd


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _is_at(fd: int, path: Path) -> bool:
    """True if the descriptor is still the file at `path` (a take-over replaces it)."""
    try:
        here = path.lstat()
    except OSError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


class RunLock:
    """An exclusive, non-blocking lock; the kernel releases it if the holder dies.

    flock rather than a PID file: a lock left by a killed process never blocks the next run,
    and no PID can be reused by accident. Two locks are held: `<state>.lock`, named after the
    real state file, and the state file itself once it exists, so that a symbolic or hard link
    to the same state meets the same lock.
    """

    def __init__(self, state: Path, *, run_id: str, started: datetime) -> None:
        self.state = state
        self.path = lock_path(state)
        self.run_id = run_id
        self.started = started
        self._fd: int | None = None
        self._state_fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockedError naming the run that holds it."""
        # The file is never deleted: unlinking a lock file lets two processes lock two inodes.
        for _ in range(5):
            fd = _open_lock_file(self.path)
            if _try_flock(fd):
                if _is_at(fd, self.path):
                    self._hold(fd)
                    break
                os.close(fd)  # taken over by another run meanwhile: look again
                continue
            holder = _read_holder(fd)
            os.close(fd)
            if not holder.is_dead():
                raise self._locked(holder)
            self._take_over(holder)
            break
        else:
            raise self._locked(Holder(None, "", "", None))
        try:
            self.pin()
        except BaseException:
            self.release()
            raise

    def _locked(self, holder: Holder) -> LockedError:
        return LockedError(
            f"Un autre traitement certsync est en cours sur ce fichier d'état "
            f"({holder.describe()}).",
            hint=f"Attendez sa fin ou, s'il est bloqué, arrêtez ce processus ; le verrou "
            f"{self.path} est libéré automatiquement à l'arrêt du processus.",
        )

    def _take_over(self, dead: Holder) -> None:
        """Replace a lock file kept locked by leftovers of a dead run (its orphaned children).

        Take-overs are serialised by a second lock; the new file is locked before it takes the
        name, and every acquirer checks that the file it locked still has the name.
        """
        guard = _open_lock_file(self.path.with_name(self.path.name + ".takeover"))
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            fd = _open_lock_file(self.path)
            if _try_flock(fd) and _is_at(fd, self.path):
                self._hold(fd)  # the leftovers ended meanwhile
                return
            holder = _read_holder(fd)
            os.close(fd)
            if not holder.is_dead():
                raise self._locked(holder)
            fresh = self.path.with_name(f"{self.path.name}.{os.getpid()}.new")
            fresh.unlink(missing_ok=True)
            fd = _open_lock_file(fresh, os.O_CREAT | os.O_EXCL)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fresh.replace(self.path)
            log.warning(
                "took over the lock %s: its holder (pid %s, run %s) is dead but other "
                "processes still held the file",
                self.path,
                dead.pid,
                dead.run_id,
            )
            self._hold(fd)
        finally:
            os.close(guard)

    def _hold(self, fd: int) -> None:
        holder_info = {
            "pid": os.getpid(),
            "started": self.started.isoformat(),
            "run_id": self.run_id,
            "boot_ticks": _start_ticks(os.getpid()),
            "where": _where(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder_info) + "\n").encode(), 0)
        self._fd = fd
        _HELD.add(fd)

    def pin(self) -> None:
        """Also lock the state file itself, by identity (device and inode), once it exists.

        Called again after the state is created. SQLite locks with fcntl, which flock does not
        interfere with on Linux.
        """
        if self._state_fd is not None:
            return
        try:
            fd = os.open(self.state, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StateError(
                f"Le fichier d'état {self.state} ne peut pas être ouvert ({os_reason(exc)}).",
                hint="Vérifiez les droits sur le fichier et sur son dossier.",
            ) from None
        if not _try_flock(fd):
            os.close(fd)
            raise LockedError(
                f"Un autre traitement certsync utilise déjà ce fichier d'état ({self.state}), "
                "sous un autre nom (lien symbolique ou physique vers le même fichier).",
                hint="Attendez la fin de l'autre traitement ; un seul traitement à la fois peut "
                "utiliser un fichier d'état, quel que soit le chemin qui y mène.",
            )
        self._state_fd = fd
        _HELD.add(fd)

    def release(self) -> None:
        """Let the next run in (closing the descriptors drops the flocks)."""
        if self._state_fd is not None:
            fd, self._state_fd = self._state_fd, None
            _HELD.discard(fd)
            os.close(fd)
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        _HELD.discard(fd)
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


def _read_holder(fd: int) -> Holder:
    # The holder writes its details just after locking: they may be briefly missing.
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        ticks = data.get("boot_ticks")
        return Holder(
            int(data["pid"]),
            str(data["started"]),
            str(data["run_id"]),
            int(ticks) if ticks is not None else None,
            str(data.get("where", "")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Holder(None, "", "", None)
