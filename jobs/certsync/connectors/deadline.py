"""The total deadline of one request: a watchdog that shuts its sockets down when time is up."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

# requests' timeout bounds each wait for the socket, not the request: a server that sends one
# byte every 5 s is never "timed out". Every socket a request uses is registered with the
# request's watchdog; when the deadline passes the watchdog shuts the sockets down, which ends
# the blocked read at once (then reported as a read timeout).

_watching = threading.local()


class _Watchdog:
    """Shuts down the sockets of one request when its total deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        _watching.dog = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _watching.dog = None

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # socket.socket.shutdown even for an SSLSocket: its own shutdown() would drop the TLS
    # object under the thread that is reading with it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch(sock: socket.socket | None) -> None:
    dog: _Watchdog | None = getattr(_watching, "dog", None)
    if dog is not None:
        dog.watch(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self.sock)  # a kept-alive connection was connected by an earlier request
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections whose sockets the request's watchdog can close."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


class DeadlineExceeded(requests.ReadTimeout):
    """The request's total deadline passed (the server answered too slowly, not too late)."""


def watched_session() -> requests.Session:
    """A requests.Session whose requests `total_deadline` can cut short."""
    session = requests.Session()
    adapter = WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@contextlib.contextmanager
def total_deadline(seconds: float) -> Iterator[None]:
    """Bound everything a watched session does inside the block to `seconds`, reading included.

    Raises requests.ReadTimeout when the time is up, even if the cut-short read looked like a
    normal end of the answer.
    """
    with _Watchdog(seconds) as dog:
        try:
            yield
        except requests.RequestException as exc:
            if dog.fired:
                raise DeadlineExceeded(f"total deadline of {seconds:.0f} s") from exc
            raise
    if dog.fired:
        raise DeadlineExceeded(f"total deadline of {seconds:.0f} s")
