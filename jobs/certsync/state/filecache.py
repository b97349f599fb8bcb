"""The file cache: what reading each certificate file gave, kept beside the state file.

An unchanged file (same path, size and date) is taken from here instead of being parsed again.
`FileCache` is a small picklable handle (the cache file and the folder's key): the ingest
workers receive it and open their own connection. The outcomes are pickled, because pickle is
an order of magnitude cheaper than JSON for 100,000 records; decoding is restricted to
certsync's own records and a few standard types, because the bytes come from a file.
"""

from __future__ import annotations

import io
import pickle
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from certsync.records import CertFile
from certsync.state.schema import FILE_CACHE_CODEC, _state_error, cache_path

#: The only globals a cached outcome may name.
_ALLOWED = {
    ("certsync.records", "CertFile"),
    ("certsync.records", "CertInfo"),
    ("certsync.records", "shared_cert_info"),
    ("certsync.records", "FileFormat"),
    ("certsync.findings", "Finding"),
    ("certsync.findings", "Code"),
    ("datetime", "datetime"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
    ("copyreg", "_reconstructor"),
    ("copyreg", "__newobj__"),
    ("builtins", "object"),
    ("builtins", "frozenset"),
    ("builtins", "getattr"),
}

#: How long a connection waits for another process (the workers write in parallel).
_BUSY_TIMEOUT = 30.0


class CacheDecodeError(ValueError):
    """A cached outcome that cannot be used (older layout, damaged, or unexpected content)."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED:
            raise CacheDecodeError(f"unexpected global {module}.{name} in the file cache")
        return super().find_class(module, name)


def encode_certfile(cf: CertFile) -> bytes:
    """The cache's form of a read file (pure: the worker processes call it)."""
    return pickle.dumps(cf, protocol=5)


def decode_certfile(data: bytes) -> CertFile:
    """A read file back from the cache, or CacheDecodeError."""
    try:
        value = _Unpickler(io.BytesIO(data)).load()
    except CacheDecodeError:
        raise
    except Exception as exc:  # any damage: the file is simply read again
        raise CacheDecodeError(str(exc)) from exc
    if not isinstance(value, CertFile):
        raise CacheDecodeError(f"unexpected {type(value).__name__} in the file cache")
    return value


@dataclass(frozen=True, slots=True)
class FileCache:
    """The file cache of one certificate folder; plain data, so that it pickles to workers.

    The state file must have been opened once (`StateStore.open` creates, checks and repairs
    the cache); each call opens its own short connection, so any process or thread may use it.
    """

    state: Path
    """The state file the cache goes with (the cache itself is `cache_path(state)`)."""
    folder: str = ""
    """The certificate folder's key: one cache serves several folders."""

    @classmethod
    def for_certs(cls, state: Path, certs: Path) -> FileCache:
        """The cache of a certificate folder, keyed by its resolved path (as runs key it)."""
        return cls(state, str(certs.resolve()))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(
                sqlite3.connect(cache_path(self.state), timeout=_BUSY_TIMEOUT, isolation_level=None)
            ) as db:
                db.execute("PRAGMA synchronous = NORMAL")
                yield db
        except sqlite3.Error as exc:
            raise _state_error(self.state, exc) from exc

    def index(self) -> dict[str, tuple[int, int]]:
        """Path → (size, mtime_ns) of every cached outcome for the folder (no decoding)."""
        with self._connect() as db:
            return cache_index(db, TABLE, self.folder)

    def get_many(self, keys: Sequence[tuple[str, int, int]]) -> dict[str, CertFile]:
        """Cached outcomes of many unchanged files (path, size, mtime_ns), in one query."""
        if not keys:
            return {}
        with self._connect() as db:
            return cached_many(db, TABLE, self.folder, keys)

    def get(self, path: str, size: int, mtime_ns: int) -> CertFile | None:
        """The outcome of reading this file last time, if its size and mtime are unchanged."""
        return self.get_many([(path, size, mtime_ns)]).get(path)

    def put_many(self, certfiles: Iterable[CertFile]) -> None:
        """Remember many outcomes in one transaction (a first run over 100,000 files)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                put_rows(db, TABLE, self.folder, certfiles)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise


# The queries, shared with StateStore, whose connection attaches the cache as `cache`.

#: The table's name on a connection to the cache file itself.
TABLE = "file_cache"


def cache_index(db: sqlite3.Connection, table: str, folder: str) -> dict[str, tuple[int, int]]:
    """Path → (size, mtime_ns) of every cached outcome for a folder (no decoding)."""
    rows = db.execute(
        f"SELECT path, size, mtime_ns FROM {table} WHERE folder = ? AND codec = ?",  # noqa: S608
        (folder, FILE_CACHE_CODEC),
    ).fetchall()
    return {path: (size, mtime) for path, size, mtime in rows}


def cached_many(
    db: sqlite3.Connection, table: str, folder: str, keys: Sequence[tuple[str, int, int]]
) -> dict[str, CertFile]:
    """Cached outcomes of the unchanged files among `keys` (path, size, mtime_ns)."""
    wanted = {path: (size, mtime) for path, size, mtime in keys}
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        f"SELECT path, size, mtime_ns, outcome FROM {table} "  # noqa: S608
        f"WHERE folder = ? AND codec = ? AND path IN ({marks})",
        (folder, FILE_CACHE_CODEC, *wanted),
    ).fetchall()
    out: dict[str, CertFile] = {}
    for path, size, mtime, outcome in rows:
        if wanted.get(path) != (size, mtime):
            continue
        try:
            out[path] = decode_certfile(outcome)
        except CacheDecodeError:
            continue  # read again
    return out


def put_rows(
    db: sqlite3.Connection, table: str, folder: str, certfiles: Iterable[CertFile]
) -> None:
    """Insert or replace outcomes (inside the caller's transaction)."""
    rows = (
        (
            folder,
            cf.path,
            cf.size,
            cf.mtime_ns,
            cf.cert.sha256 if cf.cert else None,
            FILE_CACHE_CODEC,
            encode_certfile(cf),
        )
        for cf in certfiles
    )
    db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)  # noqa: S608
