"""A platform that trickles its answers cannot hang a run; credentials never go out in clear."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certsync import cli, revocation
from certsync.config import PlatformConfig
from certsync.connectors.http import HttpClient, RateLimiter, RetryPolicy, client_for
from certsync.connectors.interface import AmbiguousWrite, Unavailable
from certsync.errors import ConfigError, ExitCode
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials
from certsync.testkit.rosters import write_csv
from tests.helpers import RENNES_SIREN, leaf_for, write_pem


class Trickle:
    """A loopback server that answers one byte at a time, `pause` seconds apart, for ever."""

    def __init__(self, *, headers_first: bool, pause: float = 0.2) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.headers_first = headers_first
        self.pause = pause
        self.connections = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
        with conn:
            try:
                conn.recv(65536)
                if self.headers_first:
                    conn.sendall(head)
                    head = b""
                for byte in head + b"x" * 100000:
                    if self.stopped.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.pause)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.fixture(params=[False, True], ids=["trickled-headers", "trickled-body"])
def trickle(request: pytest.FixtureRequest) -> Iterator[Trickle]:
    server = Trickle(headers_first=request.param)
    yield server
    server.close()


def _client(url: str, *, deadline: float, run_deadline: float | None = None) -> HttpClient:
    policy = RetryPolicy(
        max_attempts=2, backoff_initial=0.001, backoff_max=0.01, sleep=lambda s: None
    )
    # Each read waits at most 1 s, and a byte comes every 0.2 s: only a total deadline ends it.
    return HttpClient(
        url,
        connect_timeout=1.0,
        read_timeout=1.0,
        retry=policy,
        limiter=RateLimiter(0),
        deadline=deadline,
        run_deadline=run_deadline,
        run_deadline_label="1 min",
    )


def _within(seconds: float, call: object) -> BaseException | None:
    """Run `call` in a thread; fail if it is still running after `seconds`."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()  # type: ignore[operator]
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the request still hangs after {seconds} s"
    return outcome[0]


def test_a_trickling_read_ends_at_the_total_deadline(trickle: Trickle) -> None:
    client = _client(trickle.url, deadline=1.0)
    started = time.monotonic()
    raised = _within(10, lambda: client.request("GET", "/accounts"))
    assert isinstance(raised, Unavailable), raised
    assert "répond trop lentement (plus de 1 s" in raised.reason
    assert time.monotonic() - started < 4
    assert trickle.connections == 1  # not retried: a trickling server would trickle again


def test_a_trickling_write_is_ambiguous_not_resent(trickle: Trickle) -> None:
    client = _client(trickle.url, deadline=1.0)
    raised = _within(10, lambda: client.request("POST", "/accounts", idempotent=False))
    assert isinstance(raised, AmbiguousWrite), raised
    assert trickle.connections == 1


def test_past_the_run_deadline_nothing_is_sent(trickle: Trickle) -> None:
    client = _client(trickle.url, deadline=30.0, run_deadline=time.monotonic() - 1)
    raised = _within(5, lambda: client.request("GET", "/accounts"))
    assert isinstance(raised, Unavailable) and "durée maximale" in raised.reason
    assert trickle.connections == 0


def test_the_run_deadline_also_bounds_a_request_in_progress(trickle: Trickle) -> None:
    client = _client(trickle.url, deadline=0, run_deadline=time.monotonic() + 1.0)
    started = time.monotonic()
    raised = _within(10, lambda: client.request("GET", "/accounts"))
    assert isinstance(raised, Unavailable)
    assert "durée maximale de l'exécution atteinte (1 min)" in raised.reason
    assert time.monotonic() - started < 4


@pytest.mark.slow
def test_run_deadline_stops_a_run_with_exit_69(tmp_path: Path, pki, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CERTSYNC_USER", DEMO_USER)
    monkeypatch.setenv("CERTSYNC_PASSWORD", DEMO_PASSWORD)
    monkeypatch.chdir(tmp_path)
    people = [(f"Agent{i}", f"NOM{i}") for i in range(6)]
    rows = [
        {"Nom": n, "Prénom": p, "Courriel": f"{p}.{n}@ville.fr".lower(), "SIREN": RENNES_SIREN}
        for p, n in people
    ]
    for i, (p, n) in enumerate(people):
        write_pem(tmp_path / "certs", f"{n}.cer", leaf_for(pki.chambersign_ca, p, n, slot=i % 4))
    (tmp_path / "trust.pem").write_bytes(pki.trust_pem())
    config = tmp_path / "c.toml"
    # 0.05 min = 3 s of platform time, each request taking 0.3 s: not enough for six agents.
    config.write_text("[platform]\nrun_deadline_minutes = 0.05\nworkers = 1\n")
    accounts = [{"email": r["Courriel"], "nom": r["Nom"], "prenom": r["Prénom"]} for r in rows]
    sandbox = start_sandbox(
        "socle", accounts=accounts, credentials=SandboxCredentials(), latency_ms=300
    )
    try:
        roster = write_csv(tmp_path / "agents.csv", rows)
        args = ["run", "--roster", roster, "--certs", tmp_path / "certs", "--trust"]
        args += [tmp_path / "trust.pem", "--url", sandbox.url, "--as-of", "2026-03-01"]
        args += ["--config", config, "--state", tmp_path / "s.sqlite", "--report-dir", "r"]
        code = cli.main([*map(str, args), "--quiet"])
        writes = sum(int(a["writes"]) for a in sandbox.accounts())  # type: ignore[call-overload]
    finally:
        sandbox.stop()
    assert code == ExitCode.PLATFORM_UNAVAILABLE
    assert writes < len(people)
    # Stopped during the pushes (usual) the report says why; on a very slow machine the
    # deadline may already pass during the first contact, which the error message says.
    said = capsys.readouterr().err
    if (tmp_path / "r" / "exceptions.csv").exists():
        said += (tmp_path / "r" / "exceptions.csv").read_text(encoding="utf-8-sig")
    assert "durée maximale de l'exécution atteinte (0.05 min)" in said


@pytest.mark.parametrize(
    "url",
    ["http://megalis.example.org", "http://10.0.0.5:8080/socle", "HTTP://Example.org"],
)
def test_plain_http_to_another_machine_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        client_for(PlatformConfig(), url)
    assert raised.value.exit_code == ExitCode.CONFIG
    assert "en clair" in raised.value.message and "allow_insecure_http" in raised.value.hint


@pytest.mark.parametrize(
    "url",
    ["https://megalis.example.org", "http://127.0.0.1:8080", "http://localhost", "http://[::1]:80"],
)
def test_https_and_loopback_are_accepted(url: str) -> None:
    client_for(PlatformConfig(), url).close()


def test_plain_http_allowed_only_by_the_explicit_setting() -> None:
    client_for(PlatformConfig(allow_insecure_http=True), "http://megalis.example.org").close()


def test_plain_http_url_stops_the_cli_before_any_request(tmp_path: Path, pki, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_pem(tmp_path / "certs", "t.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    roster = write_csv(
        tmp_path / "a.csv", [{"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": "t@x.fr"}]
    )
    args = ["run", "--roster", roster, "--certs", tmp_path / "certs", "--url"]
    args += ["http://megalis.invalid", "--state", tmp_path / "s.sqlite"]
    code = cli.main([str(a) for a in args])
    assert code == ExitCode.CONFIG


def test_a_trickling_crl_download_ends_at_its_deadline(monkeypatch, pki) -> None:
    from certsync.testkit.pki import EPOCH
    from tests.test_validate import trust_of

    monkeypatch.setattr(revocation, "DEADLINE", 1.0)
    server = Trickle(headers_first=True)
    try:
        checker = revocation.RevocationChecker(
            (), True, EPOCH, trust_of(pki.chambersign_root), attempts=1, sleep=lambda s: None
        )
        started = time.monotonic()
        outcome: list[object] = []
        _within(10, lambda: outcome.append(checker._download(f"{server.url}/ca.crl")))
        assert time.monotonic() - started < 4
        assert outcome == [f"téléchargement de {server.url}/ca.crl impossible (délai dépassé)"]
    finally:
        server.close()
