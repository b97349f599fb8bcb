"""The HTTP layer: which failures are retried, Retry-After, ambiguous writes, rate cap, secrets."""

from __future__ import annotations

import datetime as dt
import email.utils
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from certsync.config import PlatformConfig
from certsync.connectors.credentials import load_credentials
from certsync.connectors.http import HttpClient, RateLimiter, RetryPolicy, parse_retry_after
from certsync.connectors.interface import AmbiguousWrite, Unavailable

Step = tuple[int, dict[str, str], float]


class _Scripted(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: list[Step]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.hits: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Scripted

    def log_message(self, format: str, *args: object) -> None: ...

    def _any(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.hits.append(self.command)
        status, headers, delay = self.server.script.pop(0) if self.server.script else (200, {}, 0)
        time.sleep(delay)
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass

    do_GET = do_POST = _any


@pytest.fixture
def scripted() -> Iterator[_Scripted]:
    server = _Scripted([])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(url: str, slept: list[float], *, attempts: int = 4, cap: float = 30.0) -> HttpClient:
    policy = RetryPolicy(
        max_attempts=attempts,
        backoff_initial=0.001,
        backoff_max=0.01,
        retry_after_cap=cap,
        sleep=slept.append,
    )
    return HttpClient(
        url, connect_timeout=0.5, read_timeout=0.3, retry=policy, limiter=RateLimiter(0)
    )


def _url(server: _Scripted) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_retry_after_seconds(scripted: _Scripted) -> None:
    slept: list[float] = []
    scripted.script[:] = [(429, {"Retry-After": "7"}, 0), (200, {}, 0)]
    assert _client(_url(scripted), slept).request("GET", "/").status_code == 200
    assert slept == [7.0] and len(scripted.hits) == 2


def test_retry_after_http_date(scripted: _Scripted) -> None:
    slept: list[float] = []
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    scripted.script[:] = [(503, {"Retry-After": email.utils.format_datetime(when, usegmt=True)}, 0)]
    assert _client(_url(scripted), slept).request("GET", "/").status_code == 200
    assert len(slept) == 1 and 17 <= slept[0] <= 20


def test_retry_after_beyond_cap_leaves_item_pending(scripted: _Scripted) -> None:
    slept: list[float] = []
    scripted.script[:] = [(429, {"Retry-After": "3600"}, 0)]
    with pytest.raises(Unavailable) as caught:
        _client(_url(scripted), slept, cap=120).request("GET", "/")
    assert "3600" in caught.value.reason and slept == [] and len(scripted.hits) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_no_retry_on_other_4xx(scripted: _Scripted, status: int) -> None:
    slept: list[float] = []
    scripted.script[:] = [(status, {}, 0)]
    assert _client(_url(scripted), slept).request("GET", "/").status_code == status
    assert len(scripted.hits) == 1 and slept == []


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_transient_statuses_retried(scripted: _Scripted, status: int) -> None:
    slept: list[float] = []
    scripted.script[:] = [(status, {}, 0), (status, {}, 0)]
    assert _client(_url(scripted), slept).request("GET", "/").status_code == 200
    assert len(scripted.hits) == 3 and len(slept) == 2


def test_gives_up_after_max_attempts(scripted: _Scripted) -> None:
    slept: list[float] = []
    scripted.script[:] = [(503, {}, 0)] * 10
    with pytest.raises(Unavailable) as caught:
        _client(_url(scripted), slept, attempts=3).request("GET", "/")
    assert len(scripted.hits) == 3 and "503" in caught.value.reason


def test_write_answered_500_is_ambiguous_not_resent(scripted: _Scripted) -> None:
    slept: list[float] = []
    scripted.script[:] = [(500, {}, 0)]
    with pytest.raises(AmbiguousWrite):
        _client(_url(scripted), slept).request("POST", "/", idempotent=False, data={"a": "b"})
    assert scripted.hits == ["POST"]


def test_write_refused_503_or_429_is_resent(scripted: _Scripted) -> None:
    slept: list[float] = []
    scripted.script[:] = [(503, {}, 0), (429, {"Retry-After": "1"}, 0)]
    client = _client(_url(scripted), slept)
    assert client.request("POST", "/", idempotent=False).status_code == 200
    assert scripted.hits == ["POST"] * 3


def test_write_timeout_is_ambiguous_read_timeout_retried(scripted: _Scripted) -> None:
    slept: list[float] = []
    scripted.script[:] = [(200, {}, 0.6)]
    with pytest.raises(AmbiguousWrite):
        _client(_url(scripted), slept).request("POST", "/", idempotent=False)
    assert scripted.hits == ["POST"]
    scripted.script[:] = [(200, {}, 0.6)]
    assert _client(_url(scripted), slept).request("GET", "/").status_code == 200


def test_refused_connection_retried_even_for_writes() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    slept: list[float] = []
    with pytest.raises(Unavailable) as caught:
        _client(f"http://127.0.0.1:{port}", slept, attempts=3).request(
            "POST", "/", idempotent=False
        )
    assert not isinstance(caught.value, AmbiguousWrite) and len(slept) == 2


def test_parse_retry_after_forms() -> None:
    now = dt.datetime(2026, 11, 27, 5, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Fri, 27 Nov 2026 05:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 04:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("bientôt", now=now) is None
    assert parse_retry_after(None) is None


def test_rate_limiter_spaces_requests() -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    limiter = RateLimiter(10, clock=lambda: clock[0], sleep=sleep, margin=0.01)
    for _ in range(12):
        limiter.acquire()
    # Spaced 0.1 s apart; the 11th start waits until the 1st is more than one second old.
    assert waits == pytest.approx([0.1 * i for i in range(1, 10)] + [1.01, 1.11])


def test_credentials_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("tres-secret\n", encoding="utf-8")
    config = PlatformConfig(password_file=secret)
    creds = load_credentials(config, {"CERTSYNC_USER": "admin", "CERTSYNC_TOKEN": "jeton-123"})
    assert creds.password == "tres-secret" and creds.token == "jeton-123"
    shown = repr(creds) + str(creds)
    assert "tres-secret" not in shown and "jeton-123" not in shown and "admin" not in shown
    env_wins = load_credentials(config, {"CERTSYNC_PASSWORD": "autre"})
    assert env_wins.password == "autre"
