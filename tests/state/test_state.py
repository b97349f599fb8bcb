"""Tests for the SQLite state file: schema, refusals, writes, audit, cache, crash safety."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from certsync.errors import ExitCode, StateError
from certsync.findings import Code, finding
from certsync.records import CertFile, CertInfo, FileFormat
from certsync.state import (
    SCHEMA_VERSION,
    Action,
    StateStore,
    StoredCert,
    _state_error,
    cache_path,
    history,
)
from certsync.testkit.pki import SamplePKI, agent_subject, make_leaf

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


def _leaf(pki: SamplePKI, name: str, not_after: datetime) -> StoredCert:
    issued = make_leaf(
        pki.chambersign_ca,
        agent_subject("Jeanne", name, org="Commune de Plouha"),
        not_before=not_after - timedelta(days=1000),
        not_after=not_after,
    )
    return StoredCert.from_der(issued.der)


@pytest.fixture
def store(tmp_path: Path):
    with StateStore.open(tmp_path / "var" / "certsync.sqlite") as opened:
        yield opened


def test_open_creates_parent_wal_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "state.sqlite"
    StateStore.open(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    StateStore.open(path).close()  # reopening an up-to-date file is a no-op


def _assert_refused(path: Path, *, contains: str, busy_timeout: float = 5.0) -> None:
    before = path.read_bytes()
    with pytest.raises(StateError) as raised:
        StateStore.open(path, busy_timeout=busy_timeout)
    assert raised.value.exit_code == ExitCode.STATE
    assert str(path) in raised.value.message
    assert contains in str(raised.value)
    assert path.read_bytes() == before


def test_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not a database at all\n" * 200)
    _assert_refused(path, contains="endommagé")


def test_damaged_sqlite_is_refused_untouched(tmp_path: Path, pki: SamplePKI) -> None:
    path = tmp_path / "state.sqlite"
    with StateStore.open(path) as store:
        cert = _leaf(pki, "MARTIN", NOW + timedelta(days=90))
        for i in range(200):
            store.record_write(
                run_id="r1",
                platform="socle",
                account_id=str(i),
                email=f"agent{i}@plouha.fr",
                cert=cert,
                old_der=None,
                at=NOW,
            )
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[3 * page : 5 * page] = b"\xa5" * (2 * page)  # scribble over b-tree pages
    path.write_bytes(bytes(data))
    _assert_refused(path, contains="endommagé")


def test_foreign_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    _assert_refused(path, contains="pas un fichier d'état certsync")


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    StateStore.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    _assert_refused(path, contains="version plus récente")


def test_locked_by_another_program(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    StateStore.open(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        _assert_refused(path, contains="verrouillé", busy_timeout=0.2)
        assert time.monotonic() - started < 3
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.parametrize(
    ("error", "contains"),
    [
        ("attempt to write a readonly database", "en écriture"),
        ("unable to open database file", "en écriture"),
        ("database is locked", "verrouillé"),
        ("file is not a database", "endommagé"),
    ],
)
def test_sqlite_errors_become_french_state_errors(error: str, contains: str) -> None:
    raised = _state_error(Path("/var/lib/certsync/x.sqlite"), sqlite3.OperationalError(error))
    assert contains in raised.message
    assert "/var/lib/certsync/x.sqlite" in raised.message


def test_runs_and_history(store: StateStore) -> None:
    first = store.begin_run(
        run_id="20261127-050000-aaaaaa",
        command="run",
        parameters={
            "roster": Path("agents.xlsx"),
            "password": "hunter2",
            "platform": {"token": "x"},
        },
        started=NOW,
    )
    second = store.begin_run(
        run_id="20261127-060000-bbbbbb",
        command="notify",
        parameters={},
        started=NOW + timedelta(hours=1),
    )
    store.end_run(first, ended=NOW + timedelta(minutes=5), exit_code=1, counts={"pushed": 3})
    runs = history(store, last=10)
    assert [r.run_id for r in runs] == [second, first]
    assert runs[1].parameters == {"roster": "agents.xlsx", "platform": {}}
    assert runs[1].counts == {"pushed": 3}
    assert runs[1].exit_code == 1
    assert runs[0].ended is None and runs[0].exit_code is None
    assert history(store, last=1) == [runs[0]]
    assert store.run(first) == runs[1]
    raw = store.path.read_bytes() + store.path.with_name(store.path.name + "-wal").read_bytes()
    assert b"hunter2" not in raw


def test_record_write_account_audit_and_der(store: StateStore, pki: SamplePKI) -> None:
    old = _leaf(pki, "DUPONT", NOW + timedelta(days=10))
    new = _leaf(pki, "DUPONT", NOW + timedelta(days=1000))
    store.record_write(
        run_id="r1",
        platform="socle",
        account_id="42",
        email="Jeanne.Dupont@Plouha.fr",
        cert=new,
        old_der=old.der,
        at=NOW,
        prenom="Jeanne",
        nom="Dupont",
        organisation="Commune de Plouha",
    )
    record = store.account("jeanne.dupont@plouha.fr", "socle")
    assert record is not None
    assert record.sha256 == new.sha256
    assert record.email == "Jeanne.Dupont@Plouha.fr"
    assert record.not_after == new.not_after
    assert record.common_name == "Jeanne DUPONT"
    [entry] = store.audit_for_run("r1")
    assert (entry.action, entry.old_sha256, entry.new_sha256) == (
        Action.PUSH,
        old.sha256,
        new.sha256,
    )
    assert store.certificate_der(old.sha256) == old.der
    assert store.certificate_der(new.sha256) == new.der

    # A rollback keeps the names already known when none are given.
    store.record_write(
        run_id="r2",
        platform="socle",
        account_id="42",
        email="jeanne.dupont@plouha.fr",
        cert=old,
        old_der=new.der,
        at=NOW + timedelta(hours=1),
        action=Action.ROLLBACK,
    )
    record = store.account("JEANNE.DUPONT@plouha.fr", "socle")
    assert record is not None
    assert (record.sha256, record.nom, record.organisation) == (
        old.sha256,
        "Dupont",
        "Commune de Plouha",
    )
    assert [a.email_key for a in store.accounts()] == ["jeanne.dupont@plouha.fr"]
    assert store.audit_for_run("r2")[0].action is Action.ROLLBACK


def test_audit_is_append_only(store: StateStore, pki: SamplePKI) -> None:
    cert = _leaf(pki, "LE GALL", NOW + timedelta(days=100))
    store.record_write(
        run_id="r1",
        platform="socle",
        account_id="1",
        email="a@b.fr",
        cert=cert,
        old_der=None,
        at=NOW,
    )
    db = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET new_sha256 = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    db.close()


def test_in_flight_recorded_then_cleared(store: StateStore, pki: SamplePKI) -> None:
    cert = _leaf(pki, "MORVAN", NOW + timedelta(days=100))
    for email in ("a@b.fr", "c@d.fr"):
        store.mark_in_flight(
            run_id="r1",
            platform="socle",
            email=email,
            account_id="7",
            new_sha256=cert.sha256,
            at=NOW,
        )
    assert [p.email_key for p in store.in_flight()] == ["a@b.fr", "c@d.fr"]
    assert store.in_flight("s2low") == []
    store.record_write(
        run_id="r1",
        platform="socle",
        account_id="7",
        email="A@b.fr",
        cert=cert,
        old_der=None,
        at=NOW,
    )
    store.clear_in_flight("C@D.FR", "socle")
    assert store.in_flight() == []


def test_expiring_from_state(store: StateStore, pki: SamplePKI) -> None:
    for name, days in (("EXPIRED", -3), ("SOON", 20), ("EDGE", 30), ("LATER", 31)):
        store.record_write(
            run_id="r1",
            platform="socle",
            account_id=name,
            email=f"{name.lower()}@b.fr",
            cert=_leaf(pki, name, NOW + timedelta(days=days, hours=10)),
            old_der=None,
            at=NOW,
        )
    found = store.expiring(30, NOW.date())
    assert [a.account_id for a in found] == ["EXPIRED", "SOON", "EDGE"]


def test_notifications_are_recorded_once(store: StateStore) -> None:
    assert not store.was_notified("a@b.fr", "ab" * 32, 30)
    assert store.record_notification(
        email="A@b.fr", sha256="ab" * 32, threshold_days=30, sent_at=NOW, run_id="r1"
    )
    assert store.was_notified("a@b.fr", "ab" * 32, 30)
    assert not store.was_notified("a@b.fr", "ab" * 32, 7)
    assert not store.record_notification(
        email="a@b.fr", sha256="ab" * 32, threshold_days=30, sent_at=NOW, run_id="r2"
    )


def _cert_info(pki: SamplePKI) -> CertInfo:
    stored = _leaf(pki, "QUÉRÉ", NOW + timedelta(days=300))
    return CertInfo(
        der=stored.der,
        sha256=stored.sha256,
        sha1="00" * 20,
        subject=stored.subject,
        issuer="CN=ChamberSign France CA3 NG RGS",
        common_name=stored.common_name,
        organisation="Commune de Plouha",
        org_ids=("21220237100016",),
        emails=("jeanne.quere@plouha.fr",),
        serial="1a2b",
        not_before=NOW - timedelta(days=700),
        not_after=stored.not_after,
        key_type="RSA",
        key_size=2048,
        key_curve="",
        signature_hash="sha256",
        is_ca=False,
        self_issued=False,
        key_usage=("digital_signature",),
        has_key_usage=True,
        extended_key_usage=("1.3.6.1.5.5.7.3.2",),
        has_extended_key_usage=True,
        policies=("1.2.250.1.999.1.2.2",),
        crl_urls=(),
    )


def test_file_cache_round_trip_and_no_reparse(store: StateStore, pki: SamplePKI) -> None:
    info = _cert_info(pki)
    certfile = CertFile(
        path="sous-dossier/JeanneQUERE_Format_PEM.cer",
        size=1834,
        mtime_ns=1_700_000_000_123_456_789,
        format=FileFormat.PEM,
        cert=info,
        chain=(dataclasses.replace(info, is_ca=True),),
        findings=(finding(Code.FILE_CHAIN_INCLUDED, count=1, subject="CN=x"),),
    )
    calls: list[str] = []

    def parse() -> CertFile:
        calls.append(certfile.path)
        return certfile

    def read_through() -> CertFile:
        """What a worker does: the cached outcome of an unchanged file, else parse and keep."""
        cached = store.get_cached(certfile.path, certfile.size, certfile.mtime_ns)
        if cached is not None:
            return cached
        parsed = parse()
        store.put_cached(parsed)
        return parsed

    first = read_through()
    second = read_through()
    assert first == second == certfile
    assert calls == [certfile.path]  # the unchanged file was not parsed again
    assert store.get_cached(certfile.path, certfile.size, certfile.mtime_ns + 1) is None
    assert store.get_cached(certfile.path, certfile.size + 1, certfile.mtime_ns) is None
    assert store.get_cached(certfile.path, certfile.size, certfile.mtime_ns, folder="/x") is None

    rejected = CertFile("cle.p12", 10, 5, FileFormat.PKCS12, None, (), ())
    store.put_cached(rejected)
    assert store.get_cached("cle.p12", 10, 5) == rejected


def test_file_cache_ignores_unreadable_entry(store: StateStore) -> None:
    store.put_cached(CertFile("a.cer", 1, 1, FileFormat.UNKNOWN, None))
    db = sqlite3.connect(cache_path(store.path))
    db.execute("UPDATE file_cache SET outcome = '{\"path\": 1}'")
    db.commit()
    db.close()
    assert store.get_cached("a.cer", 1, 1) is None


_WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from certsync.state import StateStore, StoredCert

store = StateStore.open(Path(sys.argv[1]))
cert = StoredCert.from_der(Path(sys.argv[2]).read_bytes())
now = datetime(2026, 11, 27, tzinfo=UTC)
for i in range(1_000_000):
    email = f"agent{i % 40}@plouha.fr"
    store.mark_in_flight(run_id="r", platform="socle", email=email, account_id=str(i),
                         new_sha256=cert.sha256, at=now)
    store.record_write(run_id="r", platform="socle", account_id=str(i), email=email,
                       cert=cert, old_der=None, at=now)
    if i == 50:
        print("ready", flush=True)
"""


def test_killed_writer_leaves_consistent_state(tmp_path: Path, pki: SamplePKI) -> None:
    path = tmp_path / "state.sqlite"
    der = tmp_path / "cert.der"
    der.write_bytes(_leaf(pki, "KILLED", NOW + timedelta(days=100)).der)
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(der)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with StateStore.open(path) as store:  # quick_check passes, or open would raise
        audit = store.audit_for_run("r")
        assert len(audit) > 50
        accounts = {a.email_key: a for a in store.accounts()}
        assert len(accounts) == 40
        # Every account row matches its last audit entry: no write was half-recorded.
        last = {e.email_key: e for e in audit}
        assert {k: a.account_id for k, a in accounts.items()} == {
            k: e.account_id for k, e in last.items()
        }
        # At most the one write in progress is pending, and it is the next one after the audit.
        pending = store.in_flight()
        assert len(pending) <= 1
        if pending:
            assert int(pending[0].account_id) == len(audit)


def test_expiring_as_of_is_a_date(store: StateStore) -> None:
    assert store.expiring(0, date(2026, 1, 1)) == []


def test_file_cache_lives_in_its_own_file_and_a_damaged_one_is_rebuilt(tmp_path: Path) -> None:
    state = tmp_path / "certsync.sqlite"
    with StateStore.open(state) as store:
        store.put_cached(CertFile("a.cer", 1, 1, FileFormat.UNKNOWN, None))
    cache = cache_path(state)
    assert cache.name == "certsync.cache.sqlite" and cache.stat().st_size > 0
    tables = sqlite3.connect(state).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("file_cache",) not in tables
    for extra in ("-wal", "-shm"):
        Path(f"{cache}{extra}").unlink(missing_ok=True)
    cache.write_bytes(b"not a database at all" * 100)
    with StateStore.open(state) as store:  # the state itself is intact: the cache is rebuilt
        assert store.get_cached("a.cer", 1, 1) is None
        store.put_cached(CertFile("b.cer", 2, 2, FileFormat.UNKNOWN, None))
        assert store.get_cached("b.cer", 2, 2) is not None


def test_cache_index_and_get_cached_many(store: StateStore) -> None:
    a = CertFile("a.cer", 10, 100, FileFormat.UNKNOWN, None)
    b = CertFile("sous/b.cer", 20, 200, FileFormat.UNKNOWN, None)
    store.put_cached_many([a, b], folder="/certs")
    assert store.cache_index(folder="/certs") == {"a.cer": (10, 100), "sous/b.cer": (20, 200)}
    assert store.cache_index(folder="/ailleurs") == {}
    found = store.get_cached_many(
        [("a.cer", 10, 100), ("sous/b.cer", 21, 200), ("absent.cer", 1, 1)], folder="/certs"
    )
    assert found == {"a.cer": a}  # b changed size: not served from the cache
    assert store.get_cached_many([], folder="/certs") == {}
