"""Tests for rollback through a fake in-memory connector implementing the Connector protocol."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from certsync.connectors.interface import Account, Connector
from certsync.connectors.pem import to_pem
from certsync.errors import UsageError
from certsync.rollback import RollbackStatus, rollback
from certsync.state import Action, StateStore, StoredCert
from certsync.testkit.pki import Issued, SamplePKI, agent_subject, make_leaf
from tests.fakes import FakeConnector

NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)


def _as_connector(fake: FakeConnector) -> Connector:
    return fake  # mypy checks that the fake implements the protocol


def _cert(pki: SamplePKI, nom: str, days: int) -> Issued:
    return make_leaf(
        pki.chambersign_ca,
        agent_subject("Anne", nom, org="Commune de Plouha"),
        not_before=NOW - dt.timedelta(days=400),
        not_after=NOW + dt.timedelta(days=days),
    )


@dataclass
class World:
    store: StateStore
    fake: FakeConnector
    old: dict[str, Issued]
    new: dict[str, Issued]
    run_id: str


EMAILS = ("a@plouha.fr", "b@plouha.fr", "c@plouha.fr")


@pytest.fixture
def world(tmp_path: Path, pki: SamplePKI):
    """A push run: a and b had a certificate that was replaced; c had none."""
    with StateStore.open(tmp_path / "state.sqlite") as store:
        fake = FakeConnector()
        old = {e: _cert(pki, e[0].upper() + "OLD", 10) for e in EMAILS[:2]}
        new = {e: _cert(pki, e[0].upper() + "NEW", 1000) for e in EMAILS}
        run_id = store.begin_run(run_id="push-1", command="run", parameters={}, started=NOW)
        for email in EMAILS:
            before = old.get(email)
            account = fake.add(email, before.pem.decode() if before else None)
            fake.stored[account.id] = new[email].pem.decode()
            store.record_write(
                run_id=run_id,
                platform="socle",
                account_id=account.id,
                email=email,
                cert=StoredCert.from_der(new[email].der),
                old_der=before.der if before else None,
                at=NOW,
                organisation="Commune de Plouha",
            )
        store.end_run(run_id, ended=NOW, exit_code=0, counts={"pushed": 3})
        yield World(store, fake, old, new, run_id)


def _rollback(w: World, dry_run: bool = False):
    return rollback(
        w.store,
        _as_connector(w.fake),
        w.run_id,
        rollback_run_id="rb-1",
        now=NOW + dt.timedelta(hours=1),
        dry_run=dry_run,
    )


def test_rollback_restores_previous_certificates(world: World) -> None:
    outcomes = _rollback(world)
    by_email = {o.email: o for o in outcomes}
    assert [o.status for o in outcomes] == [
        RollbackStatus.RESTORED,
        RollbackStatus.RESTORED,
        RollbackStatus.CANNOT_EMPTY,
    ]
    a = by_email["a@plouha.fr"]
    assert a.from_sha256 == StoredCert.from_der(world.new["a@plouha.fr"].der).sha256
    assert a.to_sha256 == StoredCert.from_der(world.old["a@plouha.fr"].der).sha256
    assert "remis et vérifié" in a.message
    assert "ne permet pas de vider" in by_email["c@plouha.fr"].message
    assert by_email["c@plouha.fr"].to_sha256 is None
    # The platform holds the old certificates again, as normalised PEM.
    accounts = world.fake.accounts
    for email in EMAILS[:2]:
        assert world.fake.stored[accounts[email].id] == to_pem(world.old[email].der)
    assert world.fake.stored[accounts["c@plouha.fr"].id] == world.new["c@plouha.fr"].pem.decode()
    # The audit and the account rows record the rollback.
    audit = world.store.audit_for_run("rb-1")
    assert [(e.action, e.email_key) for e in audit] == [
        (Action.ROLLBACK, "a@plouha.fr"),
        (Action.ROLLBACK, "b@plouha.fr"),
    ]
    assert audit[0].old_sha256 == a.from_sha256
    assert audit[0].new_sha256 == a.to_sha256
    record = world.store.account("a@plouha.fr", "socle")
    assert record is not None
    assert (record.sha256, record.organisation) == (a.to_sha256, "Commune de Plouha")
    assert world.store.in_flight() == []

    # A second rollback changes nothing.
    again = _rollback(world)
    assert [o.status for o in again][:2] == [RollbackStatus.ALREADY_RESTORED] * 2
    assert len(world.fake.writes) == 2


def test_dry_run_writes_nothing(world: World) -> None:
    outcomes = _rollback(world, dry_run=True)
    assert [o.status for o in outcomes][:2] == [RollbackStatus.WOULD_RESTORE] * 2
    assert world.fake.writes == []
    assert world.store.audit_for_run("rb-1") == []


def test_account_changed_since_is_left_alone(world: World, pki: SamplePKI) -> None:
    a = world.fake.accounts["a@plouha.fr"]
    world.fake.stored[a.id] = _cert(pki, "LATER", 900).pem.decode()
    outcomes = _rollback(world)
    assert outcomes[0].status is RollbackStatus.CHANGED_SINCE
    assert "n'est pas modifié" in outcomes[0].message
    assert outcomes[1].status is RollbackStatus.RESTORED


def test_platform_failures_are_reported(world: World) -> None:
    world.fake.reject.add("a@plouha.fr")
    world.fake.unavailable.add("b@plouha.fr")
    outcomes = _rollback(world)
    assert [o.status for o in outcomes][:2] == [RollbackStatus.FAILED] * 2
    assert "Certificat déjà utilisé par un autre compte" in outcomes[0].message
    assert "délai dépassé" in outcomes[1].message
    assert world.store.in_flight() == []
    assert world.store.audit_for_run("rb-1") == []


def test_read_back_mismatch_is_reported(world: World) -> None:
    world.fake.swallow.add("a@plouha.fr")
    outcomes = _rollback(world)
    assert outcomes[0].status is RollbackStatus.VERIFY_FAILED
    assert [e.email_key for e in world.store.audit_for_run("rb-1")] == ["b@plouha.fr"]


def test_missing_account_and_unknown_old_certificate(world: World) -> None:
    del world.fake.accounts["a@plouha.fr"]
    world.store._db.execute(
        "DELETE FROM certificates WHERE sha256 = ?",
        (StoredCert.from_der(world.old["b@plouha.fr"].der).sha256,),
    )
    outcomes = _rollback(world)
    assert [o.status for o in outcomes] == [
        RollbackStatus.ACCOUNT_NOT_FOUND,
        RollbackStatus.OLD_CERTIFICATE_UNKNOWN,
        RollbackStatus.CANNOT_EMPTY,
    ]


def test_other_platform(world: World) -> None:
    world.fake.name = "s2low"
    assert {o.status for o in _rollback(world)} == {RollbackStatus.OTHER_PLATFORM}


def test_unknown_run(world: World) -> None:
    with pytest.raises(UsageError, match="Exécution inconnue"):
        rollback(world.store, world.fake, "nope", rollback_run_id="rb", now=NOW)


def test_ambiguous_write_is_read_back_at_once(world: World) -> None:
    world.fake.ambiguous.add("a@plouha.fr")
    first = _rollback(world)
    assert first[0].status is RollbackStatus.RESTORED
    assert [k for k, _ in world.fake.writes] == ["a@plouha.fr", "b@plouha.fr"]
    assert world.store.in_flight() == []


def test_unknown_outcome_is_settled_by_the_next_rollback(world: World) -> None:
    world.fake.blind_after_write.add("a@plouha.fr")
    first = _rollback(world)
    assert first[0].status is RollbackStatus.FAILED
    assert first[0].message.startswith("Issue inconnue")
    [pending] = world.store.in_flight()
    assert (pending.email_key, pending.run_id, pending.action) == (
        "a@plouha.fr",
        "rb-1",
        "rollback",
    )
    assert pending.old_sha256 == first[0].from_sha256
    world.fake.blind_after_write.clear()
    second = rollback(
        world.store, world.fake, world.run_id, rollback_run_id="rb-2", now=NOW, dry_run=False
    )
    assert second[0].status is RollbackStatus.ALREADY_RESTORED
    # The write is audited under the rollback that sent it, with what it replaced.
    audit = {e.email_key: e for e in world.store.audit_for_run("rb-1")}
    assert audit["a@plouha.fr"].action is Action.ROLLBACK
    assert audit["a@plouha.fr"].old_sha256 == first[0].from_sha256
    assert audit["a@plouha.fr"].new_sha256 == first[0].to_sha256
    assert world.store.in_flight() == []
    assert len([k for k, _ in world.fake.writes if k == "a@plouha.fr"]) == 1


def test_rollback_that_changes_another_field_stops_writing(world: World) -> None:
    world.fake.garble["a@plouha.fr"] = ("nom", "Le Bihan\u00c3")
    outcomes = _rollback(world)
    assert outcomes[0].status is RollbackStatus.VERIFY_FAILED
    assert "« nom »" in outcomes[0].message and "Le Bihan" in outcomes[0].message
    assert outcomes[1].status is RollbackStatus.FAILED
    assert outcomes[1].message.startswith("Non modifié")
    assert [k for k, _ in world.fake.writes] == ["a@plouha.fr"]


def test_disabled_account_is_not_written(world: World) -> None:
    a = world.fake.accounts["a@plouha.fr"]
    world.fake.accounts["a@plouha.fr"] = Account(a.id, a.email, active=False)
    outcomes = _rollback(world)
    assert outcomes[0].status is RollbackStatus.ACCOUNT_DISABLED
    assert [k for k, _ in world.fake.writes] == ["b@plouha.fr"]


def test_platform_down_while_listing_is_69_not_an_internal_error(world: World) -> None:
    from certsync.connectors.interface import AccountListing, Unavailable
    from certsync.errors import ExitCode, PlatformUnavailable

    class Down(FakeConnector):
        def listing(self) -> AccountListing:
            raise Unavailable("connexion refusée")

    down = Down(accounts=world.fake.accounts, stored=world.fake.stored)
    with pytest.raises(PlatformUnavailable) as caught:
        rollback(world.store, down, world.run_id, rollback_run_id="rb", now=NOW)
    assert caught.value.exit_code == ExitCode.PLATFORM_UNAVAILABLE
    assert "connexion refusée" in caught.value.message


def test_email_shared_by_several_accounts_is_not_restored(world: World) -> None:
    from certsync.connectors.interface import AccountListing

    class Shared(FakeConnector):
        def listing(self) -> AccountListing:
            base = super().listing()
            return AccountListing(base.accounts, base.gaps, {"a@plouha.fr": ("id-1", "id-9")})

    shared = Shared(accounts=world.fake.accounts, stored=world.fake.stored)
    outcomes = rollback(world.store, shared, world.run_id, rollback_run_id="rb", now=NOW)
    assert outcomes[0].status is RollbackStatus.FAILED
    assert "Plusieurs comptes actifs" in outcomes[0].message and "id-9" in outcomes[0].message
    assert outcomes[1].status is RollbackStatus.RESTORED
    assert [k for k, _ in shared.writes] == ["b@plouha.fr"]


def test_a_platform_that_stops_answering_while_read_is_not_written(world: World) -> None:
    from certsync.config import PlatformConfig

    world.fake.unreadable.add("b@plouha.fr")
    outcomes = rollback(
        world.store,
        world.fake,
        world.run_id,
        rollback_run_id="rb",
        now=NOW,
        config=PlatformConfig(name="socle", breaker_threshold=1),
    )
    assert [o.status for o in outcomes][:2] == [RollbackStatus.FAILED] * 2
    assert "disjoncteur" in outcomes[0].message
    assert world.fake.writes == []
    assert world.store.in_flight() == []
