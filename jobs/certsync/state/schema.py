"""The state file's schema, its migrations, the attached file cache and the opening checks."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from certsync.errors import StateError
from certsync.state.damage import damaged_error

#: Written into the SQLite header so that a foreign database is recognised ("cert" in ASCII).
APPLICATION_ID = 0x63657274

#: Bump when the pickled layout of cached CertFile records changes; older entries are then
#: ignored.
FILE_CACHE_CODEC = 2

#: Ordered migrations: MIGRATIONS[i] brings the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT,
        parameters TEXT NOT NULL,
        counts TEXT,
        exit_code INTEGER,
        report_path TEXT
    );
    -- Public certificates only, content-addressed: rollback needs the old DER, not the files.
    CREATE TABLE certificates (
        sha256 TEXT PRIMARY KEY,
        der BLOB NOT NULL
    );
    CREATE TABLE accounts (
        email_key TEXT NOT NULL,
        platform TEXT NOT NULL,
        account_id TEXT NOT NULL,
        email TEXT NOT NULL,
        prenom TEXT NOT NULL,
        nom TEXT NOT NULL,
        organisation TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES certificates (sha256),
        subject TEXT NOT NULL,
        common_name TEXT NOT NULL,
        not_after TEXT NOT NULL,
        pushed_at TEXT NOT NULL,
        run_id TEXT NOT NULL,
        PRIMARY KEY (email_key, platform)
    );
    CREATE INDEX accounts_not_after ON accounts (not_after);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        run_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('push', 'rollback')),
        platform TEXT NOT NULL,
        email_key TEXT NOT NULL,
        email TEXT NOT NULL,
        account_id TEXT NOT NULL,
        old_sha256 TEXT,
        new_sha256 TEXT NOT NULL
    );
    CREATE INDEX audit_run ON audit (run_id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    CREATE TABLE in_flight (
        email_key TEXT NOT NULL,
        platform TEXT NOT NULL,
        account_id TEXT NOT NULL,
        email TEXT NOT NULL,
        new_sha256 TEXT NOT NULL,
        run_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        PRIMARY KEY (email_key, platform)
    );
    CREATE TABLE file_cache (
        folder TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT,
        codec INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (folder, path)
    );
    CREATE TABLE notifications (
        email_key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        threshold_days INTEGER NOT NULL,
        sent_at TEXT NOT NULL,
        run_id TEXT NOT NULL,
        PRIMARY KEY (email_key, sha256, threshold_days)
    );
    """,
    # 2: what a run's inputs were, so that an unchanged nightly run can reuse its result.
    """
    CREATE TABLE run_inputs (
        run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
        fingerprint TEXT NOT NULL,
        as_of TEXT NOT NULL,
        valid_until TEXT,
        settled INTEGER NOT NULL
    );
    CREATE INDEX run_inputs_fingerprint ON run_inputs (fingerprint);
    """,
    # 3: the file cache moves to its own file (see cache_path): it is large and disposable,
    # and the state's integrity check at every start must stay quick.
    """
    DROP TABLE file_cache;
    """,
    # 4: a pending write records what it replaces, durably, before the platform is written, so
    # that a write confirmed only by the next run is audited with its previous certificate.
    """
    ALTER TABLE in_flight ADD COLUMN action TEXT NOT NULL DEFAULT 'push';
    ALTER TABLE in_flight ADD COLUMN old_known INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE in_flight ADD COLUMN old_sha256 TEXT;
    """,
    # 5: the audit says which file each certificate came from (for `certsync audit`), and the
    # administrator's decisions imported from a workbook apply to every later run.
    """
    ALTER TABLE audit ADD COLUMN source_file TEXT;
    CREATE INDEX audit_email ON audit (email_key, seq);
    CREATE TABLE decisions (
        sha256 TEXT NOT NULL,
        email_key TEXT NOT NULL,
        email TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (sha256, email_key)
    );
    """,
)

#: The file cache's table, in the attached database `cache`.
_CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache.file_cache (
    folder TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    codec INTEGER NOT NULL,
    outcome BLOB NOT NULL,
    PRIMARY KEY (folder, path)
)
"""


def cache_path(state: Path) -> Path:
    """The file cache that goes with a state file (`certsync.sqlite` → `certsync.cache.sqlite`)."""
    return state.with_name(f"{state.stem}.cache{state.suffix or '.sqlite'}")


def _attach_cache(db: sqlite3.Connection, state: Path) -> None:
    """Attach the file cache; a damaged cache is deleted and rebuilt (it only saves time)."""
    path = cache_path(state)
    for attempt in (1, 2):
        try:
            db.execute("ATTACH DATABASE ? AS cache", (str(path),))
            db.execute("PRAGMA cache.journal_mode = WAL")
            db.execute(_CACHE_SCHEMA)
            db.execute("SELECT count(*) FROM cache.file_cache LIMIT 1").fetchone()
            return
        except sqlite3.DatabaseError:
            with contextlib.suppress(sqlite3.Error):
                db.execute("DETACH DATABASE cache")
            if attempt == 2:
                raise
            for extra in ("", "-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)


SCHEMA_VERSION = len(MIGRATIONS)


# -- opening checks ----------------------------------------------------------------------------


def _state_error(path: Path, exc: sqlite3.Error) -> StateError:
    text = str(exc).lower()
    if "full" in text:
        return StateError(
            f"Le disque du fichier d'état {path} est plein : plus rien ne peut y être "
            "enregistré, les dépôts sont arrêtés (aucun dépôt n'est fait sans être enregistré "
            "d'abord).",
            hint="Libérez de la place sur ce disque puis relancez : la prochaine exécution "
            "relira les comptes et enregistrera ce qui a été déposé.",
        )
    if "locked" in text or "busy" in text:
        return StateError(
            f"Le fichier d'état {path} est verrouillé par un autre programme.",
            hint="Attendez la fin de l'autre programme (sauvegarde, outil SQLite ouvert…) puis "
            "relancez ; ne supprimez pas le fichier.",
        )
    if "readonly" in text or "unable to open" in text:
        return StateError(
            f"Le fichier d'état {path} ne peut pas être ouvert en écriture ({exc}).",
            hint="Vérifiez les droits sur le fichier et sur son dossier (l'utilisateur qui lance "
            "certsync doit pouvoir y écrire).",
        )
    return StateError(
        f"Le fichier d'état {path} est illisible ou endommagé ({exc}).",
        hint="Le fichier n'a pas été modifié. Restaurez-le depuis une sauvegarde, ou déplacez-le "
        "ailleurs pour repartir d'un état vide (certsync relira alors les comptes sur la "
        "plateforme avant tout dépôt).",
    )


def _check_and_migrate(db: sqlite3.Connection, path: Path, *, existing: bool = False) -> None:
    # Read-only checks first: nothing may be written to a file that is not ours or is damaged.
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        check = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        raise _state_error(path, exc) from exc
    if [tuple(r) for r in check] != [("ok",)]:
        problems = "; ".join(str(r[0]) for r in check[:3])
        raise _state_error(path, sqlite3.DatabaseError(f"quick_check: {problems}"))
    if existing and app_id == 0 and tables == 0:
        # certsync creates its state complete (state.damage.create_atomically): an existing
        # file without any table lost its content, typically a WAL deleted before checkpoint.
        db.close()
        raise damaged_error(path, "il ne contient plus aucune table ; journal -wal perdu ?")
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables > 0):
        raise StateError(
            f"Le fichier {path} est une base SQLite qui n'est pas un fichier d'état certsync.",
            hint="Vérifiez le réglage « state » de la configuration ; le fichier n'a pas été "
            "modifié.",
        )
    if version > SCHEMA_VERSION:
        raise StateError(
            f"Le fichier d'état {path} a été écrit par une version plus récente de certsync "
            f"(schéma {version}, cette version connaît le schéma {SCHEMA_VERSION}).",
            hint="Utilisez la version de certsync la plus récente ; le fichier n'a pas été "
            "modifié.",
        )
    try:
        db.execute("PRAGMA journal_mode = WAL")
        # FULL: a pending write's record (what it replaces) must survive a power loss too,
        # since the platform is written right after it; the file cache stays NORMAL.
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        # The version is re-read under the write lock: two processes may open a new file at once.
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            for step in range(current, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[step]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise _state_error(path, exc) from exc


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; split on complete statements instead.
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]
