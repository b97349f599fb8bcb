"""The SQLite state: runs, pushed certificates, audit, pending writes, reminders, file cache."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from certsync.errors import StateError
from certsync.filecache import CacheDecodeError, decode_certfile, encode_certfile
from certsync.lock import os_reason
from certsync.records import CertFile
from certsync.state.damage import check_before_open, create_atomically
from certsync.state.models import (
    AccountRecord,
    Action,
    AuditEntry,
    InFlight,
    RunSummary,
    StoredCert,
    StoredDecision,
    _from_row,
    _parse_ts,
    _ts,
    _utc,
    clean_parameters,
)
from certsync.state.schema import (
    FILE_CACHE_CODEC,
    _attach_cache,
    _check_and_migrate,
    _state_error,
    cache_path,
)

_INSERT_IN_FLIGHT = """
    INSERT OR REPLACE INTO in_flight (email_key, platform, account_id, email, new_sha256, run_id,
        started_at, action, old_known, old_sha256)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# Marks that do not know what the account held (kept for callers that only need the mark).
_INSERT_IN_FLIGHT_LEGACY = """
    INSERT OR REPLACE INTO in_flight (email_key, platform, account_id, email, new_sha256, run_id,
        started_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""

_INSERT_AUDIT = """
    INSERT INTO audit (at, run_id, action, platform, email_key, email, account_id, old_sha256,
        new_sha256, source_file)
    VALUES (:at, :run_id, :action, :platform, :email_key, :email, :account_id, :old_sha256,
        :new_sha256, :source_file)
"""

# On rollback the names and organisation already known are kept when empty ones are given.
_UPSERT_ACCOUNT = """
    INSERT INTO accounts VALUES (:email_key, :platform, :account_id, :email, :prenom, :nom,
        :organisation, :sha256, :subject, :common_name, :not_after, :pushed_at, :run_id)
    ON CONFLICT (email_key, platform) DO UPDATE SET
        account_id = excluded.account_id,
        email = excluded.email,
        prenom = CASE WHEN excluded.prenom = '' THEN prenom ELSE excluded.prenom END,
        nom = CASE WHEN excluded.nom = '' THEN nom ELSE excluded.nom END,
        organisation = CASE WHEN excluded.organisation = ''
            THEN organisation ELSE excluded.organisation END,
        sha256 = excluded.sha256,
        subject = excluded.subject,
        common_name = excluded.common_name,
        not_after = excluded.not_after,
        pushed_at = excluded.pushed_at,
        run_id = excluded.run_id
"""


class StateStore:
    """Typed access to the state file; every write is one SQLite transaction."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        # Push workers record their writes from several threads: one connection, serialised.
        self._lock = threading.RLock()

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

    @classmethod
    def attach(cls, path: Path, *, busy_timeout: float = 30.0) -> StateStore:
        """Open a state file that a run has already opened, checked and migrated.

        For the ingest worker processes, which write the file cache in parallel: they skip the
        checks (the run holds the lock and has checked the file) and wait for each other.
        """
        db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("ATTACH DATABASE ? AS cache", (str(cache_path(path)),))
        db.execute("PRAGMA cache.synchronous = NORMAL")
        db.row_factory = sqlite3.Row
        return cls(db, path)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _state_error(self.path, exc) from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise _state_error(self.path, exc) from exc
                raise

    def _rollback(self) -> None:
        # SQLite rolls back by itself on some errors (disk full, I/O): a second ROLLBACK would
        # raise "no transaction is active" and hide the real error.
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise _state_error(self.path, exc) from exc

    # -- runs --------------------------------------------------------------------------------

    def begin_run(
        self,
        *,
        run_id: str,
        command: str,
        parameters: Mapping[str, Any],
        started: datetime,
    ) -> str:
        """Record the start of a run and return its id; credential-like parameters are dropped."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, command, started, parameters) VALUES (?, ?, ?, ?)",
                (run_id, command, _ts(started), json.dumps(clean_parameters(parameters))),
            )
        return run_id

    def end_run(
        self,
        run_id: str,
        *,
        ended: datetime,
        exit_code: int,
        counts: Mapping[str, int],
        report_path: Path | str | None = None,
    ) -> None:
        """Record how a run ended."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET ended = ?, exit_code = ?, counts = ?, report_path = ? "
                "WHERE run_id = ?",
                (
                    _ts(ended),
                    int(exit_code),
                    json.dumps(dict(counts), sort_keys=True),
                    str(report_path) if report_path is not None else None,
                    run_id,
                ),
            )

    def run(self, run_id: str) -> RunSummary | None:
        """One run by id."""
        rows = self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return _from_row(RunSummary, rows[0]) if rows else None

    def last_runs(self, n: int) -> list[RunSummary]:
        """The `n` most recent runs, newest first."""
        rows = self._query("SELECT * FROM runs ORDER BY started DESC, run_id DESC LIMIT ?", (n,))
        return [_from_row(RunSummary, r) for r in rows]

    def record_inputs(
        self,
        run_id: str,
        *,
        fingerprint: str,
        as_of: datetime,
        valid_until: datetime | None,
        settled: bool,
    ) -> None:
        """Remember a finished run's inputs, and until when its result stays true."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO run_inputs VALUES (?, ?, ?, ?, ?)",
                (
                    run_id,
                    fingerprint,
                    _ts(as_of),
                    _ts(valid_until) if valid_until is not None else None,
                    int(settled),
                ),
            )

    def reusable_run(self, fingerprint: str, as_of: datetime) -> RunSummary | None:
        """The latest finished run with the same inputs whose result still holds at `as_of`.

        Only a settled run counts (nothing left to push or retry), whose own date is not after
        `as_of` and whose validity window (the next expiry or start date) is not reached.
        """
        rows = self._query(
            "SELECT r.* FROM runs r JOIN run_inputs i ON i.run_id = r.run_id "
            "WHERE i.fingerprint = ? AND i.settled = 1 AND r.ended IS NOT NULL "
            "AND r.exit_code IN (0, 1) AND i.as_of <= ? "
            "AND (i.valid_until IS NULL OR i.valid_until > ?) "
            "ORDER BY r.started DESC LIMIT 1",
            (fingerprint, _ts(as_of), _ts(as_of)),
        )
        return _from_row(RunSummary, rows[0]) if rows else None

    # -- writes to accounts ------------------------------------------------------------------

    def mark_in_flight(
        self,
        *,
        run_id: str,
        platform: str,
        email: str,
        account_id: str,
        new_sha256: str,
        at: datetime,
    ) -> None:
        """Record, before writing to the platform, that a write to this account is starting."""
        self.mark_in_flight_many(
            run_id=run_id, platform=platform, writes=[(email, account_id, new_sha256)], at=at
        )

    def mark_in_flight_many(
        self,
        *,
        run_id: str,
        platform: str,
        writes: Iterable[tuple[str, str, str]],
        at: datetime,
    ) -> None:
        """mark_in_flight for many (e-mail, account id, new SHA-256) at once, one transaction."""
        rows = (
            (email.casefold(), platform, account_id, email, new_sha256, run_id, _ts(at))
            for email, account_id, new_sha256 in writes
        )
        with self._tx() as db:
            db.executemany(_INSERT_IN_FLIGHT_LEGACY, rows)

    def intend_write(
        self,
        *,
        run_id: str,
        platform: str,
        email: str,
        account_id: str,
        old_der: bytes | None,
        new_sha256: str,
        at: datetime,
        action: Action = Action.PUSH,
    ) -> None:
        """Record durably, before writing to the platform, the write and what it replaces.

        `old_der` is the certificate the account holds now (None: empty). Should the run die
        after the write, the next run finds this record, reads the account and audits the
        write with this previous certificate (see `InFlight`).
        """
        old_sha = hashlib.sha256(old_der).hexdigest() if old_der is not None else None
        with self._tx() as db:
            if old_der is not None:
                db.execute("INSERT OR IGNORE INTO certificates VALUES (?, ?)", (old_sha, old_der))
            db.execute(
                _INSERT_IN_FLIGHT,
                (
                    email.casefold(), platform, account_id, email, new_sha256, run_id, _ts(at),
                    str(action), 1, old_sha,
                ),
            )  # fmt: skip

    def clear_in_flight(self, email: str, platform: str) -> None:
        """Forget a pending write (it failed cleanly, or reconciliation settled it)."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM in_flight WHERE email_key = ? AND platform = ?",
                (email.casefold(), platform),
            )

    def in_flight(self, platform: str | None = None) -> list[InFlight]:
        """Writes left unconfirmed by a run that was killed; read the account before rewriting."""
        sql = "SELECT * FROM in_flight"
        args: tuple[Any, ...] = ()
        if platform is not None:
            sql, args = sql + " WHERE platform = ?", (platform,)
        rows = self._query(sql + " ORDER BY started_at, email_key", args)
        return [_from_row(InFlight, r) for r in rows]

    def record_write(
        self,
        *,
        run_id: str,
        platform: str,
        account_id: str,
        email: str,
        cert: StoredCert,
        old_der: bytes | None,
        at: datetime,
        action: Action = Action.PUSH,
        prenom: str = "",
        nom: str = "",
        organisation: str = "",
        source_file: str | None = None,
    ) -> AuditEntry:
        """Record a confirmed write (account row, audit entry, both DERs); clear the pending one."""
        email_key = email.casefold()
        old_sha = hashlib.sha256(old_der).hexdigest() if old_der is not None else None
        with self._tx() as db:
            for der, sha in ((old_der, old_sha), (cert.der, cert.sha256)):
                if der is not None:
                    db.execute("INSERT OR IGNORE INTO certificates VALUES (?, ?)", (sha, der))
            row = {
                "email_key": email_key,
                "platform": platform,
                "account_id": account_id,
                "email": email,
                "prenom": prenom,
                "nom": nom,
                "organisation": organisation,
                "sha256": cert.sha256,
                "subject": cert.subject,
                "common_name": cert.common_name,
                "not_after": _ts(cert.not_after),
                "pushed_at": _ts(at),
                "run_id": run_id,
            }
            db.execute(_UPSERT_ACCOUNT, row)
            entry = {
                "at": _ts(at),
                "run_id": run_id,
                "action": str(action),
                "platform": platform,
                "email_key": email_key,
                "email": email,
                "account_id": account_id,
                "old_sha256": old_sha,
                "new_sha256": cert.sha256,
                "source_file": source_file,
            }
            cursor = db.execute(_INSERT_AUDIT, entry)
            db.execute(
                "DELETE FROM in_flight WHERE email_key = ? AND platform = ?", (email_key, platform)
            )
        assert cursor.lastrowid is not None
        return AuditEntry(
            cursor.lastrowid, _utc(at), run_id, action, platform, email_key, email, account_id,
            old_sha, cert.sha256, source_file,
        )  # fmt: skip

    def note_account(
        self,
        *,
        run_id: str,
        platform: str,
        account_id: str,
        email: str,
        cert: StoredCert,
        at: datetime,
        prenom: str = "",
        nom: str = "",
        organisation: str = "",
    ) -> None:
        """Remember the certificate an account was found holding, without an audit entry.

        For an account that already held the certificate certsync was about to push: certsync
        did not write it, so nothing is audited (and a rollback leaves it alone).
        """
        row = {
            "email_key": email.casefold(), "platform": platform, "account_id": account_id,
            "email": email, "prenom": prenom, "nom": nom, "organisation": organisation,
            "sha256": cert.sha256, "subject": cert.subject, "common_name": cert.common_name,
            "not_after": _ts(cert.not_after), "pushed_at": _ts(at), "run_id": run_id,
        }  # fmt: skip
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO certificates VALUES (?, ?)", (cert.sha256, cert.der))
            db.execute(_UPSERT_ACCOUNT, row)
            db.execute(
                "DELETE FROM in_flight WHERE email_key = ? AND platform = ?",
                (row["email_key"], platform),
            )

    def certificate_der(self, sha256: str) -> bytes | None:
        """The DER of a certificate certsync has seen on an account (pushed or replaced)."""
        rows = self._query("SELECT der FROM certificates WHERE sha256 = ?", (sha256,))
        return bytes(rows[0]["der"]) if rows else None

    def account(self, email: str, platform: str) -> AccountRecord | None:
        """What certsync last put on this account, if anything."""
        rows = self._query(
            "SELECT * FROM accounts WHERE email_key = ? AND platform = ?",
            (email.casefold(), platform),
        )
        return _from_row(AccountRecord, rows[0]) if rows else None

    def accounts(self, platform: str | None = None) -> list[AccountRecord]:
        """Every account certsync has written to, by e-mail."""
        sql, args = "SELECT * FROM accounts", tuple[str, ...]()
        if platform is not None:
            sql, args = sql + " WHERE platform = ?", (platform,)
        return [
            _from_row(AccountRecord, r)
            for r in self._query(sql + " ORDER BY email_key, platform", args)
        ]

    def expiring(self, within_days: int, as_of: date) -> list[AccountRecord]:
        """Accounts whose last pushed certificate ends before the end of day `as_of + within`."""
        limit = datetime.combine(as_of + timedelta(days=within_days + 1), datetime.min.time(), UTC)
        rows = self._query(
            "SELECT * FROM accounts WHERE not_after < ? ORDER BY not_after, email_key",
            (_ts(limit),),
        )
        return [_from_row(AccountRecord, r) for r in rows]

    def audit_for_run(self, run_id: str) -> list[AuditEntry]:
        """The writes one run made, in order."""
        rows = self._query("SELECT * FROM audit WHERE run_id = ? ORDER BY seq", (run_id,))
        return [_from_row(AuditEntry, r) for r in rows]

    def audit_entries(self, email: str | None = None) -> list[AuditEntry]:
        """Every write recorded, oldest first; only one account's when `email` is given."""
        if email is None:
            rows = self._query("SELECT * FROM audit ORDER BY seq")
        else:
            rows = self._query(
                "SELECT * FROM audit WHERE email_key = ? ORDER BY seq", (email.casefold(),)
            )
        return [_from_row(AuditEntry, r) for r in rows]

    # -- decisions ---------------------------------------------------------------------------

    def decisions(self) -> list[StoredDecision]:
        """Every decision kept, by certificate then e-mail."""
        rows = self._query("SELECT * FROM decisions ORDER BY sha256, email_key")
        return [_from_row(StoredDecision, r) for r in rows]

    def set_decision(
        self, sha256: str, emails: Sequence[str], *, decided_at: datetime, source: str
    ) -> None:
        """Replace the decision for one certificate: these e-mails, or none for « ignorer »."""
        targets = list(emails) or [""]
        with self._tx() as db:
            db.execute("DELETE FROM decisions WHERE sha256 = ?", (sha256,))
            db.executemany(
                "INSERT INTO decisions VALUES (?, ?, ?, ?, ?)",
                [(sha256, e.casefold(), e, _ts(decided_at), source) for e in targets],
            )

    def remove_decision(self, sha256: str, email: str | None = None) -> int:
        """Forget a certificate's decision (or only its line for `email`); how many went."""
        with self._tx() as db:
            if email is None:
                cursor = db.execute("DELETE FROM decisions WHERE sha256 = ?", (sha256,))
            else:
                cursor = db.execute(
                    "DELETE FROM decisions WHERE sha256 = ? AND email_key = ?",
                    (sha256, email.casefold()),
                )
            return cursor.rowcount

    # -- reminders ---------------------------------------------------------------------------

    def was_notified(self, email: str, sha256: str, threshold_days: int) -> bool:
        """Whether the reminder for this certificate and threshold already went out."""
        rows = self._query(
            "SELECT 1 FROM notifications WHERE email_key = ? AND sha256 = ? AND threshold_days = ?",
            (email.casefold(), sha256, threshold_days),
        )
        return bool(rows)

    def reminders_sent(self) -> dict[tuple[str, str], datetime]:
        """(e-mail key, SHA-256) → when the last reminder for that certificate went out."""
        rows = self._query(
            "SELECT email_key, sha256, MAX(sent_at) AS sent_at FROM notifications "
            "GROUP BY email_key, sha256"
        )
        return {(r["email_key"], r["sha256"]): _parse_ts(r["sent_at"]) for r in rows}

    def record_notification(
        self, *, email: str, sha256: str, threshold_days: int, sent_at: datetime, run_id: str
    ) -> bool:
        """Record a sent reminder; False when it was already recorded."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?)",
                (email.casefold(), sha256, threshold_days, _ts(sent_at), run_id),
            )
            return cursor.rowcount == 1

    # -- file cache --------------------------------------------------------------------------

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
        wanted = {path: (size, mtime) for path, size, mtime in keys}
        marks = ",".join("?" * len(wanted))
        rows = self._query(
            f"SELECT path, size, mtime_ns, outcome FROM cache.file_cache "  # noqa: S608
            f"WHERE folder = ? AND codec = ? AND path IN ({marks})",
            (folder, FILE_CACHE_CODEC, *wanted),
        )
        out: dict[str, CertFile] = {}
        for row in rows:
            if wanted.get(row["path"]) != (row["size"], row["mtime_ns"]):
                continue
            try:
                out[row["path"]] = decode_certfile(row["outcome"])
            except CacheDecodeError:
                continue  # read again
        return out

    def cache_index(self, *, folder: str = "") -> dict[str, tuple[int, int]]:
        """Path → (size, mtime_ns) of every cached outcome for a folder (no decoding)."""
        rows = self._query(
            "SELECT path, size, mtime_ns FROM cache.file_cache WHERE folder = ? AND codec = ?",
            (folder, FILE_CACHE_CODEC),
        )
        return {row["path"]: (row["size"], row["mtime_ns"]) for row in rows}

    def put_cached_many(self, certfiles: Iterable[CertFile], *, folder: str = "") -> None:
        """Remember many outcomes in one transaction (a first run over 100,000 files)."""
        self.put_encoded(((cf, encode_certfile(cf)) for cf in certfiles), folder=folder)

    def put_encoded(self, items: Iterable[tuple[CertFile, bytes]], *, folder: str = "") -> None:
        """Like put_cached_many, for outcomes already encoded with encode_certfile (streamed)."""
        rows = (
            (
                folder,
                cf.path,
                cf.size,
                cf.mtime_ns,
                cf.cert.sha256 if cf.cert else None,
                FILE_CACHE_CODEC,
                encoded,
            )
            for cf, encoded in items
        )
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO cache.file_cache VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )

    def read_through(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        parse: Callable[[], CertFile],
        *,
        folder: str = "",
    ) -> CertFile:
        """The cached outcome for an unchanged file, else `parse()` stored for next time."""
        cached = self.get_cached(path, size, mtime_ns, folder=folder)
        if cached is not None:
            return cached
        certfile = parse()
        self.put_cached(certfile, folder=folder)
        return certfile


def history(store: StateStore, last: int = 10) -> list[RunSummary]:
    """The last runs, newest first, for `certsync history`."""
    return store.last_runs(last)
