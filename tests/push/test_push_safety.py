"""The push engine's safety rules, through a fake platform and a real SQLite state file.

Every write is recorded with what it replaces before it is sent; the whole account is read back;
disabled accounts, incomplete listings and unknown outcomes are never written over.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from certsync.connectors.interface import Account, AccountListing
from certsync.connectors.pem import sha256_hex, to_pem
from certsync.errors import ExitCode, PlatformAuthError, PlatformProtocolError, StateError
from certsync.findings import Code
from certsync.push import PushRun, Selection, push
from certsync.push.recorded import StateJournal
from certsync.records import Agent, AgentStatus
from certsync.state import Action, StateStore
from tests.connectors.kit import Person, fast_config, people
from tests.fakes import FakeConnector

NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)


def _world(n: int, *, with_old: bool = True) -> tuple[FakeConnector, list[Person], list[Person]]:
    """A platform whose n accounts hold `old` certificates; `new` ones are to be pushed."""
    new, old = people(n), people(n, start=n)
    fake = FakeConnector()
    for p, o in zip(new, old, strict=True):
        fake.add(p.agent.email, to_pem(o.der) if with_old else None)
    return fake, new, old


def _push(
    fake: FakeConnector, persons: list[Person], store: StateStore | None = None, **kw: object
) -> PushRun:
    journal = StateJournal(store, "run-1", fake.name, lambda: NOW) if store else None
    return push(
        [p.item for p in persons],
        fake,
        fast_config("socle", workers=kw.pop("workers", 2)),
        journal=journal,
        settle=journal.settle_factory(fake) if journal else None,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path):
    with StateStore.open(tmp_path / "state.sqlite") as opened:
        for run_id in ("run-0", "run-1", "run-2"):
            opened.begin_run(run_id=run_id, command="run", parameters={}, started=NOW)
        yield opened


def _codes(run: PushRun) -> list[list[Code]]:
    return [[f.code for f in o.findings] for o in run.outcomes]


def test_every_write_is_audited_with_the_certificate_it_replaced(store: StateStore) -> None:
    fake, new, old = _world(4)
    run = _push(fake, new, store)
    assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
    audit = {e.email_key: e for e in store.audit_for_run("run-1")}
    for p, o in zip(new, old, strict=True):
        entry = audit[p.agent.email_key]
        assert (entry.old_sha256, entry.new_sha256) == (sha256_hex(o.der), p.item.sha256)
        assert store.certificate_der(sha256_hex(o.der)) == o.der
    assert store.in_flight() == []


def test_transient_first_read_failure_reads_again_before_writing(store: StateStore) -> None:
    fake, new, old = _world(2)
    fake.flaky[new[0].agent.email_key] = 1  # the plan's read fails, the next one answers
    fake.unreadable.add(new[1].agent.email_key)  # never readable: never written
    run = _push(fake, new, store, workers=1)
    assert [o.status for o in run.outcomes] == [AgentStatus.PUSHED, AgentStatus.FAILED]
    assert _codes(run)[1] == [Code.MEGALIS_UNAVAILABLE]
    assert [k for k, _ in fake.writes] == [new[0].agent.email_key]
    [entry] = store.audit_for_run("run-1")
    assert entry.old_sha256 == sha256_hex(old[0].der)
    assert store.in_flight() == []


def test_intent_is_durable_before_the_write(store: StateStore) -> None:
    fake, new, old = _world(1)
    seen: list[list[tuple[str, str | None, bool]]] = []
    write = fake.write_certificate

    def spying(account: Account, pem: str) -> None:
        # Another connection to the same file sees the pending write and its old certificate.
        with StateStore.open(store.path) as other:
            seen.append([(p.email_key, p.old_sha256, p.old_known) for p in other.in_flight()])
        write(account, pem)

    fake.write_certificate = spying  # type: ignore[method-assign]
    _push(fake, new, store)
    assert seen == [[(new[0].agent.email_key, sha256_hex(old[0].der), True)]]


def test_unknown_outcome_is_reported_then_settled_by_the_next_run(store: StateStore) -> None:
    fake, new, old = _world(2)
    fake.blind_after_write.add(new[0].agent.email_key)
    run = _push(fake, new, store, workers=1)
    assert run.outcomes[0].status is AgentStatus.FAILED
    [unknown] = run.outcomes[0].findings
    assert unknown.code is Code.MEGALIS_OUTCOME_UNKNOWN
    assert "Issue inconnue" in unknown.message() and "rien n'a été écrit" not in unknown.message()
    assert [p.email_key for p in store.in_flight()] == [new[0].agent.email_key]

    # The next run (another run id) reads the account first and audits the write under run-1.
    fake.blind_after_write.clear()
    journal = StateJournal(store, "run-2", fake.name, lambda: NOW)
    rerun = push(
        [p.item for p in new],
        fake,
        fast_config("socle"),
        journal=journal,
        settle=journal.settle_factory(fake),
    )
    assert {o.status for o in rerun.outcomes} == {AgentStatus.UNCHANGED}
    audit = store.audit_for_run("run-1")
    assert {(e.email_key, e.old_sha256) for e in audit} == {
        (p.agent.email_key, sha256_hex(o.der)) for p, o in zip(new, old, strict=True)
    }
    assert store.audit_for_run("run-2") == [] and store.in_flight() == []
    assert len(fake.writes) == 2


def test_unsettled_earlier_write_is_not_written_over(store: StateStore) -> None:
    fake, new, old = _world(1)
    key = new[0].agent.email_key
    store.intend_write(
        run_id="run-0", platform="socle", email=new[0].agent.email, account_id="id-1",
        old_der=old[0].der, new_sha256="ab" * 32, at=NOW,
    )  # fmt: skip
    fake.flaky[key] = 1  # the settling read fails: the account stays untouched this run
    run = _push(fake, new, store)
    assert _codes(run) == [[Code.MEGALIS_OUTCOME_UNKNOWN]]
    assert "run-0" in run.outcomes[0].findings[0].message()
    assert fake.writes == []
    [pending] = store.in_flight()
    assert (pending.run_id, pending.old_sha256) == ("run-0", sha256_hex(old[0].der))


def test_another_field_changed_stops_the_platform(store: StateStore) -> None:
    fake, new, old = _world(4)
    fake.garble[new[0].agent.email_key] = ("prenom", "HÃ©lÃ¨ne")
    run = _push(fake, new, store, workers=1)
    assert isinstance(run.error, PlatformProtocolError)
    assert run.error.exit_code == ExitCode.PLATFORM_PROTOCOL
    first = run.outcomes[0].findings[0]
    assert first.code is Code.MEGALIS_VERIFY_FAILED
    text = first.message()
    assert "« prenom »" in text and "« Hélène »" in text and "« HÃ©lÃ¨ne »" in text
    assert [o.status for o in run.outcomes[1:]] == [AgentStatus.FAILED] * 3
    assert len(fake.writes) == 1
    # The certificate did land: audited, so that a rollback can put the old one back.
    assert [e.old_sha256 for e in store.audit_for_run("run-1")] == [sha256_hex(old[0].der)]


def test_disabled_accounts_are_never_written(store: StateStore) -> None:
    new, old = people(3), people(3, start=3)
    fake = FakeConnector()
    for i, (p, o) in enumerate(zip(new, old, strict=True)):
        fake.add(p.agent.email, to_pem(o.der), active=i != 1)
    run = _push(fake, new, store)
    assert [o.status for o in run.outcomes] == [
        AgentStatus.PUSHED,
        AgentStatus.FAILED,
        AgentStatus.PUSHED,
    ]
    [disabled] = run.outcomes[1].findings
    assert disabled.code is Code.MEGALIS_ACCOUNT_DISABLED and disabled.blocking
    assert new[1].agent.email in disabled.message() and "réactiver" in disabled.action()
    assert new[1].agent.email_key not in {k for k, _ in fake.writes}
    assert run.error is None


def test_create_missing_only_on_a_complete_listing() -> None:
    fake, new, _ = _world(1)
    missing = people(1, start=7)
    fake.gaps = ("organisme 42 : export refusé (403)",)
    run = _push(fake, [*new, *missing], create_missing=True)
    assert _codes(run)[1] == [Code.MEGALIS_LISTING_INCOMPLETE]
    assert "export refusé (403)" in run.outcomes[1].findings[0].message()
    assert fake.created == [] and run.outcomes[0].status is AgentStatus.PUSHED
    fake.gaps = ()
    again = _push(fake, [*new, *missing], create_missing=True)
    assert _codes(again)[1] == [Code.MEGALIS_ACCOUNT_CREATED]
    assert fake.created == [missing[0].agent.email_key]


def test_creation_is_audited_under_its_run(store: StateStore) -> None:
    fake = FakeConnector()
    [person] = people(1)
    run = _push(fake, [person], store, create_missing=True)
    assert run.outcomes[0].status is AgentStatus.PUSHED
    [entry] = store.audit_for_run("run-1")
    assert (entry.email_key, entry.old_sha256, entry.account_id) == (
        person.agent.email_key,
        None,
        "id-1",
    )


def test_selection_writes_only_the_chosen_agents(store: StateStore) -> None:
    fake, new, _ = _world(5)
    only = frozenset({new[1].agent.email_key, new[3].agent.email_key, new[4].agent.email_key})
    run = _push(fake, new, store, selection=Selection(only, 2))
    assert [o.status for o in run.outcomes] == [
        AgentStatus.WOULD_PUSH,
        AgentStatus.PUSHED,
        AgentStatus.WOULD_PUSH,
        AgentStatus.PUSHED,
        AgentStatus.WOULD_PUSH,
    ]
    assert _codes(run)[0] == [Code.MEGALIS_NOT_SELECTED]
    assert "--only --limit 2" in run.outcomes[0].findings[0].message()
    assert sorted(k for k, _ in fake.writes) == sorted(
        [new[1].agent.email_key, new[3].agent.email_key]
    )


def test_disk_full_stops_before_any_unrecorded_write(store: StateStore) -> None:
    fake, new, _ = _world(40)
    # Real SQLite, real "database or disk is full": the file may not grow past its size now.
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")
    run = _push(fake, new, store, workers=1)
    assert isinstance(run.error, StateError)
    assert run.error.exit_code == ExitCode.STATE and "plein" in run.error.message
    written = {k for k, _ in fake.writes}
    recorded = {e.email_key for e in store.audit_for_run("run-1")} | {
        p.email_key for p in store.in_flight()
    }
    assert 0 < len(written) < 40
    assert written <= recorded  # no write without its record made first


def test_transaction_error_after_sqlite_rolled_back_is_a_state_error(store: StateStore) -> None:
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StateError) as caught, store._tx() as db:
        db.execute("INSERT INTO certificates VALUES (?, ?)", ("x" * 64, b"\0" * 200_000))
    assert "plein" in caught.value.message
    assert not store._db.in_transaction
    with pytest.raises(sqlite3.OperationalError):
        store._db.execute("ROLLBACK")  # nothing left to roll back: the handler did not try


def test_intent_record_for_rollback_keeps_its_action(store: StateStore) -> None:
    fake, new, old = _world(1)
    store.intend_write(
        run_id="run-0", platform="socle", email=new[0].agent.email, account_id="id-1",
        old_der=new[0].der, new_sha256=sha256_hex(old[0].der), at=NOW, action=Action.ROLLBACK,
    )  # fmt: skip
    journal = StateJournal(store, "run-2", "socle", lambda: NOW)
    assert journal.settle(fake, AccountListing(fake.list_accounts())) == {}
    [entry] = store.audit_for_run("run-0")
    assert entry.action is Action.ROLLBACK and entry.old_sha256 == new[0].item.sha256


class _GarbledCreation(FakeConnector):
    """Creates the account, then answers something the connector cannot understand."""

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        super().create_account(agent, pem)
        raise PlatformProtocolError("Réponse inattendue de la plateforme (page inconnue).")


def test_creation_with_an_unreadable_answer_is_unknown_then_settled(store: StateStore) -> None:
    fake = _GarbledCreation()
    [person] = people(1)
    run = _push(fake, [person], store, create_missing=True)
    assert isinstance(run.error, PlatformProtocolError)
    assert _codes(run) == [[Code.MEGALIS_OUTCOME_UNKNOWN]]
    [pending] = store.in_flight()
    assert (pending.email_key, pending.old_known, pending.old_sha256) == (
        person.agent.email_key,
        True,
        None,
    )
    journal = StateJournal(store, "run-2", "socle", lambda: NOW)
    assert journal.settle(fake, fake.listing()) == {}
    [entry] = store.audit_for_run("run-1")
    assert (entry.email_key, entry.old_sha256) == (person.agent.email_key, None)


class _ListingRefused(FakeConnector):
    def listing(self) -> AccountListing:
        raise PlatformAuthError("Session expirée : identifiants refusés.")


def test_listing_refused_leaves_every_agent_pending_with_the_error() -> None:
    fake = _ListingRefused()
    persons = people(2)
    run = _push(fake, persons)
    assert isinstance(run.error, PlatformAuthError)
    assert _codes(run) == [[Code.MEGALIS_UNAVAILABLE]] * 2
    assert fake.writes == []


@pytest.mark.slow
def test_platform_outage_mid_push_then_rerun_audits_every_write(
    store: StateStore, tmp_path: Path
) -> None:
    """The real sandbox stops after a few writes and comes back from its own state file."""
    from certsync.sandbox import start_sandbox
    from certsync.sandbox.server import SandboxCredentials
    from tests.connectors.kit import connect

    new, old = people(10), people(10, start=10)
    rows = [p.account_row for p in new]
    disk = tmp_path / "platform.json"
    sandbox = start_sandbox(
        "socle", accounts=rows, credentials=SandboxCredentials(), state=disk, latency_ms=5
    )
    with sandbox.store.mutate():
        for account in sandbox.store.accounts.values():
            account.certificate = to_pem(old[[p.agent.email for p in new].index(account.email)].der)
    before = {str(a["email"]): a["sha256"] for a in sandbox.accounts()}
    connector = connect("socle", sandbox.url)
    journal = StateJournal(store, "run-1", "socle", lambda: NOW)
    write = connector.write_certificate
    count: list[int] = []

    def dying(account: Account, pem: str) -> None:
        write(account, pem)
        count.append(1)
        if len(count) == 3:
            sandbox.stop()  # the outage starts right after this write landed

    connector.write_certificate = dying  # type: ignore[method-assign]
    config = fast_config("socle", workers=2)
    run = push([p.item for p in new], connector, config, journal=journal)
    assert run.breaker_open
    connector.close()

    with start_sandbox(
        "socle", accounts=rows, credentials=SandboxCredentials(), state=disk
    ) as again:
        connector = connect("socle", again.url)
        journal = StateJournal(store, "run-2", "socle", lambda: NOW)
        rerun = push(
            [p.item for p in new],
            connector,
            config,
            journal=journal,
            settle=journal.settle_factory(connector),
        )
        assert {o.status for o in rerun.outcomes} <= {AgentStatus.PUSHED, AgentStatus.UNCHANGED}
        assert {str(a["email"]): int(a["writes"]) for a in again.accounts()} == {  # type: ignore[call-overload]
            p.agent.email: 1 for p in new
        }
        audit = store.audit_for_run("run-1") + store.audit_for_run("run-2")
        assert sorted(e.email for e in audit) == sorted(before)
        assert all(e.old_sha256 == before[e.email] for e in audit)
        assert store.in_flight() == []
        from certsync.rollback import RollbackStatus, rollback

        for run_id in ("run-1", "run-2"):
            store.end_run(run_id, ended=NOW, exit_code=0, counts={})
            outcomes = rollback(store, connector, run_id, rollback_run_id=f"rb-{run_id}", now=NOW)
            assert {o.status for o in outcomes} <= {RollbackStatus.RESTORED}
        assert {str(a["email"]): a["sha256"] for a in again.accounts()} == before
        connector.close()


def test_a_lost_answer_is_never_resent_on_top_of_the_http_retries(store: StateStore) -> None:
    # The platform drops the write and loses its answer: the HTTP layer alone may resend
    # (max_attempts); the engine reads the account back, never writes again in this run.
    fake, new, _old = _world(1)
    key = new[0].agent.email_key
    fake.swallow.add(key)
    fake.ambiguous.add(key)
    run = _push(fake, new, store)
    assert _codes(run) == [[Code.MEGALIS_OUTCOME_UNKNOWN]]
    assert "écriture sans réponse (réponse perdue)" in run.outcomes[0].findings[0].message()
    assert [k for k, _ in fake.writes] == [key]
    assert [p.email_key for p in store.in_flight()] == [key]
