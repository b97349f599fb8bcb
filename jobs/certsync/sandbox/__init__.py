"""A faithful local stand-in for the Mégalis platforms (socle, S²LOW, Pastell)."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from certsync.config import PLATFORMS
from certsync.sandbox.server import App, Faults, SandboxCredentials, _Server
from certsync.sandbox.store import Store, read_accounts


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Server certificate and key, plus the CA that client certificates must chain to."""

    cert: Path
    key: Path
    client_ca: Path | None = None
    """When set, a client certificate is required (S²LOW's mutual TLS)."""


class SandboxHandle:
    """A running sandbox: its URL, its store, and stop()."""

    def __init__(
        self,
        server: _Server,
        thread: threading.Thread,
        url: str,
        sso: SandboxHandle | None = None,
    ) -> None:
        self._server = server
        self._thread = thread
        self.url = url
        self.store = server.store
        self.app = server.app
        self.sso = sso
        """The socle's Keycloak, served on its own port (None for the other platforms)."""

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def accounts(self) -> list[dict[str, object]]:
        """What `GET /__sandbox__/accounts` returns, without going through HTTP."""
        return self.store.snapshot()

    def requests(self) -> list[dict[str, object]]:
        """The request log (time, method, path), excluding /__sandbox__/ calls."""
        with self._server.lock:
            return list(self._server.log)

    def stop(self) -> None:
        """Stop listening and cut open connections, as a killed process would."""
        if self.sso is not None:
            self.sso.stop()
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _make_app(platform: str, store: Store, credentials: SandboxCredentials) -> App:
    if platform == "socle":
        from certsync.sandbox.socle import SocleApp

        return SocleApp(store, credentials)
    if platform == "s2low":
        from certsync.sandbox.s2low import S2lowApp

        return S2lowApp(store, credentials)
    if platform == "pastell":
        from certsync.sandbox.pastell import PastellApp

        return PastellApp(store, credentials)
    raise ValueError(f"plateforme inconnue : {platform}")


def start_sandbox(
    platform: str,
    *,
    accounts: Path | Iterable[Mapping[str, str]] | None = None,
    state: Path | None = None,
    latency_ms: int = 0,
    fail_rate: float = 0.0,
    throttle_every: int = 0,
    slow_every: int = 0,
    slow_ms: int = 0,
    seed: int = 1234,
    host: str = "127.0.0.1",
    port: int = 0,
    credentials: SandboxCredentials | None = None,
    tls: TlsFiles | None = None,
) -> SandboxHandle:
    """Start a sandbox in a background thread and return once it accepts connections.

    `accounts` is a CSV path (roster-like or the socle's export) or rows with `email`, `nom`,
    `prenom` (and optionally `id`); they are created unless the state file already has them.
    """
    store = Store(platform, state)
    app = _make_app(platform, store, credentials or SandboxCredentials.from_env())
    rows = read_accounts(accounts) if isinstance(accounts, Path) else list(accounts or [])
    # An app that files accounts under organisations (the socle) takes the whole row.
    seed_row = getattr(app, "seed_row", None)
    for row in rows:
        if seed_row is not None:
            seed_row(row)
        else:
            app.seed(row["email"], row.get("nom", ""), row.get("prenom", ""), row.get("id", ""))
    faults = Faults(latency_ms, fail_rate, throttle_every, slow_every, slow_ms, seed)
    sso = None
    keycloak = getattr(app, "keycloak", None)
    if keycloak is not None:
        # The socle's SSO is another server (another origin), as Keycloak is in production.
        sso_server = _Server((host, 0), keycloak, store, faults)
        sso = _serve(sso_server, f"sandbox-{platform}-sso", "http", host)
        keycloak.base_url = sso.url
    server = _Server((host, port), app, store, faults)
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        if tls.client_ca is not None:
            context.load_verify_locations(tls.client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    handle = _serve(server, f"sandbox-{platform}", scheme, host)
    handle.sso = sso
    return handle


def _serve(server: _Server, name: str, scheme: str, host: str) -> SandboxHandle:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return SandboxHandle(server, thread, f"{scheme}://{host}:{server.server_address[1]}")


def fetch_accounts(url: str) -> list[dict[str, object]]:
    """`GET {url}/__sandbox__/accounts` over HTTP (plain HTTP sandboxes only)."""
    with urllib.request.urlopen(f"{url}/__sandbox__/accounts", timeout=5) as answer:  # noqa: S310
        data: list[dict[str, object]] = json.load(answer)
    return data


__all__ = ["PLATFORMS", "SandboxCredentials", "SandboxHandle", "TlsFiles", "start_sandbox"]
