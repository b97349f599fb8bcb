"""The sandbox's HTTP server: a real ThreadingHTTPServer on loopback, with fault injection."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from certsync.sandbox.store import Store

#: Credentials the sandbox accepts when CERTSYNC_USER/PASSWORD/TOKEN are not set in its
#: environment (documented in the README and in `certsync sandbox --help`).
DEMO_USER = "admin@megalis.test"
DEMO_PASSWORD = "demo"
DEMO_TOKEN = "demo-token"


@dataclass(frozen=True, slots=True)
class SandboxCredentials:
    """What the sandbox accepts."""

    user: str = field(default=DEMO_USER, repr=False)
    password: str = field(default=DEMO_PASSWORD, repr=False)
    token: str = field(default=DEMO_TOKEN, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SandboxCredentials:
        """CERTSYNC_USER+CERTSYNC_PASSWORD and/or CERTSYNC_TOKEN, else the demo ones."""
        env = os.environ if env is None else env
        user, password = env.get("CERTSYNC_USER", ""), env.get("CERTSYNC_PASSWORD", "")
        token = env.get("CERTSYNC_TOKEN", "")
        if user and password:
            return cls(user, password, token)
        if token:
            return cls("", "", token)
        return cls()

    def basic_ok(self, header: str) -> bool:
        """Whether an Authorization: Basic header carries the expected login."""
        if not header.startswith("Basic ") or not self.user:
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return user == self.user and password == self.password


@dataclass(slots=True)
class Request:
    """One request, as the platform apps see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes
    client_cert: dict[str, Any] | None = None

    def arg(self, name: str) -> str:
        """First query value, or ''."""
        return self.query.get(name, [""])[0]


@dataclass(slots=True)
class Response:
    """One answer."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, data: object, **kw: Any) -> Response:
    """A UTF-8 JSON answer."""
    return Response(status, json.dumps(data, ensure_ascii=False).encode(), "application/json", **kw)


class App(Protocol):
    """One platform's behaviour."""

    retry_after_header: str

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        ...

    def seed(self, email: str, nom: str, prenom: str, id: str = "") -> None:
        """Create an account at start, unless one with that e-mail exists."""
        ...


@dataclass(frozen=True, slots=True)
class Faults:
    """Injected faults."""

    latency_ms: int = 0
    """Added before every answer."""
    fail_rate: float = 0.0
    """Fraction of requests answered 503 without being processed (seeded RNG)."""
    throttle_every: int = 0
    """Every Nth request is answered 429 with Retry-After: 1."""
    slow_every: int = 0
    """Every Nth request is processed, then answered only after `slow_ms` (a lost answer)."""
    slow_ms: int = 0
    seed: int = 1234


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, store: Store, faults: Faults) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.store = store
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.count = 0
        self.lock = threading.Lock()
        # Bounded so that a sandbox left running for a long demo does not grow without end.
        self.log: deque[dict[str, object]] = deque(maxlen=200_000)
        self.connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut keep-alive connections too, as a stopped process would."""
        with self.lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds
    # ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is served at /__sandbox__/requests."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path.startswith("/__sandbox__/"):
            self._send(self._control(parsed.path))
            return
        server = self.server
        faults = server.faults
        with server.lock:
            server.count += 1
            number = server.count
            fail = faults.fail_rate > 0 and server.rng.random() < faults.fail_rate
            server.log.append({"t": time.time(), "method": self.command, "path": parsed.path})
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.throttle_every and number % faults.throttle_every == 0:
            response = Response(
                429, b"Too Many Requests", headers=[(server.app.retry_after_header, "1")]
            )
        elif fail:
            response = Response(
                503,
                b"<html><body><h1>Service Unavailable</h1></body></html>",
                "text/html; charset=iso-8859-1",
            )
        else:
            cert = None
            if isinstance(self.connection, ssl.SSLSocket):
                cert = self.connection.getpeercert()
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(
                self.command,
                parsed.path,
                urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                headers,
                body,
                cert,
            )
            response = server.app.handle(request)
            if faults.slow_every and number % faults.slow_every == 0:
                # Processed, but the answer comes too late: the client sees a timeout.
                time.sleep(faults.slow_ms / 1000)
        self._send(response)

    def _control(self, path: str) -> Response:
        if path == "/__sandbox__/accounts":
            return json_response(200, self.server.store.snapshot())
        if path == "/__sandbox__/requests":
            with self.server.lock:
                return json_response(200, list(self.server.log))
        return Response(404, b"not found")

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch
