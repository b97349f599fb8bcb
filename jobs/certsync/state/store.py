"""The SQLite state: opening it, and one class over its parts (runs, journal, accounts…)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from certsync.errors import StateError
from certsync.lock import os_reason
from certsync.records import CertFile
from certsync.state.accounts import AccountBook
from certsync.state.damage import check_before_open, create_atomically
from certsync.state.decisions import DecisionTable
from certsync.state.filecache import FileCache, cache_index, cached_many, put_rows
from certsync.state.journal import WriteJournal
from certsync.state.models import RunSummary
from certsync.state.reminders import ReminderLog
from certsync.state.runs import RunLog
from certsync.state.schema import _attach_cache, _check_and_migrate, _state_error

#: The file cache's table on the state's connection (attached as `cache`).
_ATTACHED = "cache.file_cache"


class StateStore(RunLog, WriteJournal, AccountBook, DecisionTable, ReminderLog):
    """Typed access to the state file; every write is one SQLite transaction.

    Each concern lives in its own module (runs, journal, accounts, decisions, reminders); the
    file cache is a separate handle (`file_cache`) for the workers; the methods below reach the
    same table through this connection (the pusher reads a DER per write: no new connection).
    """

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, busy_timeout: float = 5.0, new_state: bool = False) -> StateStore:
        """Open (creating and migrating if needed) the state file, or raise StateError.

        A state file that lost its history (empty, WAL gone) is set aside and refused; a new
        one is then created only with `new_state` (see state.damage).
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"Le dossier du fichier d'état {path.parent} ne peut pas être créé "
                f"({os_reason(exc)}).",
                hint="Vérifiez le réglage « state » et les droits de l'utilisateur qui lance "
                "certsync sur ce dossier.",
            ) from None
        check_before_open(path, new_state=new_state)
        if not path.exists():
            try:
                create_atomically(path, lambda tmp: cls._connect(tmp, busy_timeout).close())
            except OSError as exc:
                raise StateError(
                    f"Le fichier d'état {path} ne peut pas être créé ({os_reason(exc)}).",
                    hint="Vérifiez les droits de l'utilisateur qui lance certsync sur le "
                    "dossier du fichier d'état.",
                ) from None
        db = cls._connect(path, busy_timeout, existing=True)
        try:
            _attach_cache(db, path)
        except sqlite3.Error as exc:
            db.close()
            raise _state_error(path, exc) from exc
        except BaseException:
            db.close()
            raise
        db.row_factory = sqlite3.Row
        return cls(db, path)

    @staticmethod
    def _connect(path: Path, busy_timeout: float, *, existing: bool = False) -> sqlite3.Connection:
        """A checked, migrated connection to the state file."""
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per item.
            db = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _state_error(path, exc) from exc
        try:
            _check_and_migrate(db, path, existing=existing)
        except sqlite3.Error as exc:
            db.close()
            raise _state_error(path, exc) from exc
        except BaseException:
            db.close()
            raise
        return db

    # -- file cache (see state.filecache) ---------------------------------------------------

    def file_cache(self, folder: str = "") -> FileCache:
        """The picklable handle on this state's file cache for one certificate folder."""
        return FileCache(self.path, folder)

    def get_cached(
        self, path: str, size: int, mtime_ns: int, *, folder: str = ""
    ) -> CertFile | None:
        """The outcome of reading this file last time, if its size and mtime are unchanged."""
        return self.get_cached_many([(path, size, mtime_ns)], folder=folder).get(path)

    def put_cached(self, certfile: CertFile, *, folder: str = "") -> None:
        """Remember the outcome of reading a file, keyed by path, size and mtime."""
        self.put_cached_many([certfile], folder=folder)

    def get_cached_many(
        self, keys: Sequence[tuple[str, int, int]], *, folder: str = ""
    ) -> dict[str, CertFile]:
        """Cached outcomes of many unchanged files (path, size, mtime_ns), in one query."""
        if not keys:
            return {}
        with self._lock:
            try:
                return cached_many(self._db, _ATTACHED, folder, keys)
            except sqlite3.Error as exc:
                raise _state_error(self.path, exc) from exc

    def cache_index(self, *, folder: str = "") -> dict[str, tuple[int, int]]:
        """Path → (size, mtime_ns) of every cached outcome for a folder (no decoding)."""
        with self._lock:
            try:
                return cache_index(self._db, _ATTACHED, folder)
            except sqlite3.Error as exc:
                raise _state_error(self.path, exc) from exc

    def put_cached_many(self, certfiles: Iterable[CertFile], *, folder: str = "") -> None:
        """Remember many outcomes in one transaction (a first run over 100,000 files)."""
        with self._tx() as db:
            put_rows(db, _ATTACHED, folder, certfiles)


def history(store: StateStore, last: int = 10) -> list[RunSummary]:
    """The last runs, newest first, for `certsync history`."""
    return store.last_runs(last)
