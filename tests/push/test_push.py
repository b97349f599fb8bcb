"""The push engine end to end against each platform's sandbox, over real HTTP on loopback."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from certsync.connectors.interface import Account, AmbiguousWrite, Connector
from certsync.connectors.pem import to_pem
from certsync.errors import PlatformAuthError, PlatformUnavailable
from certsync.findings import Code
from certsync.push import Intent, PlanAction, PushItem, apply, plan, push
from certsync.records import Agent, AgentStatus
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.server import SandboxCredentials
from tests.connectors.kit import ENV, PLATFORMS, Person, connect, fast_config, people

pytestmark = pytest.mark.parametrize("platform", PLATFORMS)


def _sandbox(platform: str, persons: list[Person], **kw: Any) -> SandboxHandle:
    return start_sandbox(
        platform, accounts=[p.account_row for p in persons], credentials=SandboxCredentials(), **kw
    )


def _writes(handle: SandboxHandle) -> dict[str, int]:
    return {str(a["email"]): int(a["writes"]) for a in handle.accounts()}  # type: ignore[call-overload]


class RecordingJournal:
    """A journal in memory, with a hook called on each confirmation."""

    def __init__(self, on_confirm: Callable[[Intent], None] | None = None) -> None:
        self.intended: list[Intent] = []
        self.confirmed: list[tuple[Intent, str]] = []
        self.dropped: list[Intent] = []
        self.on_confirm = on_confirm
        self.lock = threading.Lock()

    def intend(self, intent: Intent) -> None:
        with self.lock:
            self.intended.append(intent)

    def confirm(self, intent: Intent, account_id: str) -> None:
        with self.lock:
            self.confirmed.append((intent, account_id))
        if self.on_confirm is not None:
            self.on_confirm(intent)

    def drop(self, intent: Intent) -> None:
        with self.lock:
            self.dropped.append(intent)


def _codes(outcome: object) -> list[Code]:
    return [f.code for f in outcome.findings]  # type: ignore[attr-defined]


def test_full_push_then_rerun_writes_nothing(platform: str) -> None:
    persons = people(7)
    journal = RecordingJournal()
    with _sandbox(platform, persons[:6]) as sandbox:
        connector = connect(platform, sandbox.url)
        config = fast_config(platform)
        items = [p.item for p in persons]
        run = push(items, connector, config, journal=journal)
        statuses = [o.status for o in run.outcomes]
        assert statuses == [AgentStatus.PUSHED] * 6 + [AgentStatus.FAILED]
        assert _codes(run.outcomes[6]) == [Code.MEGALIS_ACCOUNT_NOT_FOUND]
        assert run.outcomes[6].findings[0].params["email"] == persons[6].agent.email
        assert not run.breaker_open and run.error is None
        assert sorted(i.item.row for i, _ in journal.confirmed) == [2, 3, 4, 5, 6, 7]
        assert all(i.old_der is None and i.account_id == a for i, a in journal.confirmed)
        # Every write was intended (with what it replaced) before it was sent.
        assert len(journal.intended) == 6 and journal.dropped == []
        by_sha = {a["email"]: a["sha256"] for a in sandbox.accounts()}
        assert all(by_sha[p.agent.email] == p.item.sha256 for p in persons[:6])

        rerun = push(items, connector, config)
        assert [o.status for o in rerun.outcomes[:6]] == [AgentStatus.UNCHANGED] * 6
        assert all(
            o.old_sha256 == p.item.sha256
            for o, p in zip(rerun.outcomes[:6], persons[:6], strict=True)
        )
        assert set(_writes(sandbox).values()) == {1}
        connector.close()


def test_dry_run_plans_without_writing(platform: str) -> None:
    persons = people(3)
    with _sandbox(platform, persons[:2]) as sandbox:
        connector = connect(platform, sandbox.url)
        run = push([p.item for p in persons], connector, fast_config(platform), dry_run=True)
        assert [o.status for o in run.outcomes] == [AgentStatus.WOULD_PUSH] * 2 + [
            AgentStatus.FAILED
        ]
        assert set(_writes(sandbox).values()) == {0}


def test_create_missing_creates_then_pushes_once(platform: str) -> None:
    persons = people(2)
    with _sandbox(platform, persons[:1]) as sandbox:
        connector = connect(platform, sandbox.url)
        run = push([p.item for p in persons], connector, fast_config(platform), create_missing=True)
        assert [o.status for o in run.outcomes] == [AgentStatus.PUSHED] * 2
        assert _codes(run.outcomes[1]) == [Code.MEGALIS_ACCOUNT_CREATED]
        assert _writes(sandbox) == {persons[0].agent.email: 1, persons[1].agent.email: 1}


def test_faults_end_with_every_agent_pushed_exactly_once(platform: str) -> None:
    persons = people(8)
    # 30 % of 503, a 429 every 7th request, and every 11th answer lost beyond the 0.4 s timeout.
    with _sandbox(
        platform, persons, fail_rate=0.3, throttle_every=7, slow_every=11, slow_ms=600, latency_ms=2
    ) as sandbox:
        connector = connect(platform, sandbox.url)
        run = push([p.item for p in persons], connector, fast_config(platform))
        assert [o.status for o in run.outcomes] == [AgentStatus.PUSHED] * 8, run.outcomes
        assert set(_writes(sandbox).values()) == {1}
        rerun = push([p.item for p in persons], connector, fast_config(platform))
        assert {o.status for o in rerun.outcomes} == {AgentStatus.UNCHANGED}
        assert set(_writes(sandbox).values()) == {1}


def test_sandbox_killed_mid_run_then_restarted_from_state(platform: str, tmp_path: Path) -> None:
    persons = people(12)
    state = tmp_path / "state.json"
    sandbox = _sandbox(platform, persons, state=state, latency_ms=5)
    connector = connect(platform, sandbox.url)
    config = fast_config(platform, workers=2)
    done: list[int] = []
    lock = threading.Lock()

    def on_confirm(intent: Intent) -> None:
        with lock:
            done.append(intent.item.row)
            if len(done) == 3:
                sandbox.stop()

    journal = RecordingJournal(on_confirm)
    run = push([p.item for p in persons], connector, config, journal=journal)
    assert run.breaker_open
    pushed = [o for o in run.outcomes if o.status is AgentStatus.PUSHED]
    failed = [o for o in run.outcomes if o.status is AgentStatus.FAILED]
    assert len(failed) > 0 and len(pushed) + len(failed) == 12
    # A write sent but not read back is "issue inconnue", never "nothing written".
    assert all(
        _codes(o) in ([Code.MEGALIS_UNAVAILABLE], [Code.MEGALIS_OUTCOME_UNKNOWN]) for o in failed
    )
    unknown = {o.row for o in failed if _codes(o) == [Code.MEGALIS_OUTCOME_UNKNOWN]}
    assert unknown == {i.item.row for i in journal.intended} - {
        i.item.row for i, _ in journal.confirmed
    } - {i.item.row for i in journal.dropped}
    connector.close()

    with _sandbox(platform, persons, state=state) as again:
        counts = _writes(again)
        assert sum(counts.values()) >= 3 and set(counts.values()) <= {0, 1}
        connector = connect(platform, again.url)
        rerun = push([p.item for p in persons], connector, config)
        assert {o.status for o in rerun.outcomes} <= {AgentStatus.PUSHED, AgentStatus.UNCHANGED}
        assert set(_writes(again).values()) == {1}
        assert {a["sha256"] for a in again.accounts()} == {p.item.sha256 for p in persons}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_platform_fails_check_fast(platform: str) -> None:
    connector = connect(platform, f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(PlatformUnavailable):
        connector.check()
    assert time.monotonic() - started < 3


def test_breaker_trips_within_seconds_when_platform_dies(platform: str) -> None:
    persons = people(10)
    sandbox = _sandbox(platform, persons)
    connector = connect(platform, sandbox.url)
    config = fast_config(platform, workers=2, breaker_threshold=3)
    connector.check()
    the_plan = plan([p.item for p in persons], connector)
    assert {e.action for e in the_plan.entries} == {PlanAction.WRITE}
    sandbox.stop()
    started = time.monotonic()
    run = apply(the_plan, connector, config, create_missing=False)
    assert time.monotonic() - started < 5
    assert run.breaker_open
    assert all(o.status is AgentStatus.FAILED for o in run.outcomes)
    assert all(_codes(o) == [Code.MEGALIS_UNAVAILABLE] for o in run.outcomes)
    assert set(_writes(sandbox).values()) == {0}


def test_wrong_credentials_refused_before_any_write(platform: str) -> None:
    persons = people(2)
    wrong = {
        "CERTSYNC_USER": ENV["CERTSYNC_USER"],
        "CERTSYNC_PASSWORD": "s3cret-wrong",
        "CERTSYNC_TOKEN": "wrong-token",
    }
    with _sandbox(platform, persons) as sandbox:
        connector = connect(platform, sandbox.url, env=wrong)
        with pytest.raises(PlatformAuthError) as caught:
            push([p.item for p in persons], connector, fast_config(platform))
        text = str(caught.value)
        assert "s3cret-wrong" not in text and "wrong-token" not in text
        assert set(_writes(sandbox).values()) == {0}


def test_rate_cap_respected(platform: str) -> None:
    persons = people(8)
    with _sandbox(platform, persons) as sandbox:
        connector = connect(platform, sandbox.url, rate_per_second=25.0)
        run = push(
            [p.item for p in persons],
            connector,
            fast_config(platform, rate_per_second=25.0, workers=4),
        )
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        times = sorted(float(r["t"]) for r in sandbox.requests())  # type: ignore[arg-type]
        assert len(times) > 25
        worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        # Times are arrivals at the server: on a loaded machine scheduling jitter can bunch one
        # request into a window. Without the cap every request lands within the same second
        # (worst == len(times) > 25), so one request of slack still tells them apart.
        assert worst <= 26


def test_stored_text_compared_by_certificate_not_text(platform: str) -> None:
    persons = people(3)
    with _sandbox(platform, persons) as sandbox:
        same = persons[0].pem.decode().replace("\n", "\r\n") + "\r\n"
        with sandbox.store.mutate():
            accounts = {a.email: a for a in sandbox.store.accounts.values()}
            accounts[persons[0].agent.email].certificate = same
            accounts[persons[1].agent.email].certificate = "-----BEGIN CERTIFICATE-----\nxx"
        connector = connect(platform, sandbox.url)
        the_plan = plan([p.item for p in persons], connector)
        assert [e.action for e in the_plan.entries] == [
            PlanAction.UNCHANGED,
            PlanAction.WRITE,
            PlanAction.WRITE,
        ]
        assert the_plan.entries[1].old_sha256 is None


class _LyingConnector(Connector):
    """Accepts writes but reads back another certificate."""

    name = "fake"

    def __init__(self, other: str) -> None:
        self.other = other

    def check(self) -> None: ...

    def list_accounts(self) -> dict[str, Account]:
        return {"a@b.fr": Account("1", "a@b.fr")}

    def read_certificate(self, account: Account) -> str | None:
        return self.other

    def write_certificate(self, account: Account, pem: str) -> None: ...

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        raise NotImplementedError

    def close(self) -> None: ...


def test_read_back_mismatch_is_verify_failed(platform: str) -> None:
    mine, other = people(2)
    agent = Agent(2, "a@b.fr", "Riou", "Loïc")
    item = PushItem(2, agent, mine.item.sha256, mine.der)
    connector = _LyingConnector(to_pem(other.der))
    run = push([item], connector, fast_config(platform))
    assert run.outcomes[0].status is AgentStatus.FAILED
    assert _codes(run.outcomes[0]) == [Code.MEGALIS_VERIFY_FAILED]
    assert run.outcomes[0].findings[0].params["found"] == other.item.sha256
    assert other.item.sha256 in run.outcomes[0].findings[0].message()


def test_lost_write_answer_is_read_back_not_resent(platform: str) -> None:
    persons = people(4)
    # Every third answer comes after the client gave up: some of them are answers to writes.
    with _sandbox(platform, persons, slow_every=3, slow_ms=250) as sandbox:
        connector = connect(platform, sandbox.url, timeout_seconds=0.12)
        ambiguous: list[str] = []
        write = connector.write_certificate

        def spy(account: Account, pem: str) -> None:
            try:
                write(account, pem)
            except AmbiguousWrite as exc:
                ambiguous.append(exc.reason)
                raise

        connector.write_certificate = spy  # type: ignore[method-assign]
        run = push([p.item for p in persons], connector, fast_config(platform, workers=1))
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        assert ambiguous, "no write lost its answer: the scenario did not exercise read-back"
        assert set(_writes(sandbox).values()) == {1}


def test_secrets_never_in_logs_or_outcomes(platform: str, caplog: pytest.LogCaptureFixture) -> None:
    persons = people(3)
    secrets = {
        "CERTSYNC_USER": "chef@megalis.test",
        "CERTSYNC_PASSWORD": "Pw-9f3k-SECRET",
        "CERTSYNC_TOKEN": "tok-77c1-SECRET",
    }
    creds = SandboxCredentials("chef@megalis.test", "Pw-9f3k-SECRET", "tok-77c1-SECRET")
    caplog.set_level(logging.DEBUG)
    with start_sandbox(
        platform, accounts=[p.account_row for p in persons], credentials=creds, fail_rate=0.3
    ) as sandbox:
        connector = connect(platform, sandbox.url, env=secrets)
        run = push([p.item for p in persons], connector, fast_config(platform))
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
    shown = caplog.text + repr(run) + repr(connector.__dict__)
    assert "retrying" in caplog.text
    assert "SECRET" not in shown


def test_failing_write_record_stops_further_writes(platform: str) -> None:
    from certsync.errors import StateError

    persons = people(6)
    with _sandbox(platform, persons) as sandbox:
        connector = connect(platform, sandbox.url)

        def broken(intent: Intent) -> None:
            raise StateError("Fichier d'état verrouillé.")

        run = push(
            [p.item for p in persons],
            connector,
            fast_config(platform, workers=1),
            journal=RecordingJournal(broken),
        )
        assert isinstance(run.error, StateError)
        assert [o.status for o in run.outcomes][:1] == [AgentStatus.PUSHED]
        assert all(o.status is AgentStatus.FAILED for o in run.outcomes[1:])
        assert sum(_writes(sandbox).values()) == 1
