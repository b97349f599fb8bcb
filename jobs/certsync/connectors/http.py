"""HTTP plumbing shared by the connectors: sessions, timeouts, one retry policy and a rate cap."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import functools
import ipaddress
import logging
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from certsync.config import PlatformConfig
from certsync.connectors.interface import AmbiguousWrite, Unavailable
from certsync.errors import ConfigError, PlatformProtocolError, PlatformUnavailable

log = logging.getLogger("certsync.connectors.http")

#: Statuses that mean "try again later": the request was not (or may not have been) served.
TRANSIENT_STATUSES = frozenset({408, 425, 429})
#: Statuses after which a write certainly was not processed, so it may be resent blindly.
#: 408/425/429 are refused before processing; 503 is what a proxy or an overloaded server
#: answers without running the application (an assumption: a 500/502/504 may come after it ran).
WRITE_SAFE_STATUSES = frozenset({408, 425, 429, 503})


def _is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return max(0.0, delta)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to insist on one request."""

    max_attempts: int = 5
    """Attempts per request, first included."""
    backoff_initial: float = 0.5
    """Scale of the exponential backoff (seconds)."""
    backoff_max: float = 30.0
    """Ceiling of one backoff wait (seconds)."""
    retry_after_cap: float = 120.0
    """A Retry-After longer than this is not waited for: the item is left pending."""
    sleep: Callable[[float], None] = field(default=time.sleep)
    """Injected so that tests never wait for real."""


class RateLimiter:
    """The global request-rate cap shared by all workers: never more than `rate` starts per second.

    Two rules: starts are spaced 1/rate apart (a token bucket of depth one, so no bursts), and
    the Nth previous start must be more than one second (plus a small margin for scheduling
    and network jitter) in the past, where N = rate. Spacing alone would let a one-second
    window hold rate + 1 starts, which is what an operator counting requests would see.
    """

    def __init__(
        self,
        rate_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.02,
    ) -> None:
        self._interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._window = max(1, int(rate_per_second))
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._starts: deque[float] = deque(maxlen=self._window)
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until this caller may send one request."""
        if not self._interval:
            return
        # The lock is held while sleeping: callers are served one after the other anyway, and
        # recording the real start time (a thread may wake late) keeps the window rule exact.
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if len(self._starts) == self._window:
                slot = max(slot, self._starts[0] + 1.0 + self._margin)
            if slot > now:
                self._sleep(slot - now)
            start = max(self._clock(), slot)
            self._starts.append(start)
            self._next = start + self._interval


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class _GiveUp(Exception):
    """Not retried: turned into Unavailable/AmbiguousWrite with its reason."""

    def __init__(self, reason: str, *, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (refused, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableStatus | requests.ConnectionError | requests.Timeout)


def _unavailable_after(exc: BaseException, attempts: int) -> Unavailable:
    """What the connector sees once the retry policy gave up."""
    if isinstance(exc, _GiveUp):
        return (AmbiguousWrite if exc.ambiguous else Unavailable)(exc.reason)
    if isinstance(exc, _RetryableStatus):
        return Unavailable(f"HTTP {exc.status} après {attempts} tentatives")
    if isinstance(exc, requests.Timeout):
        return Unavailable(f"délai de réponse dépassé après {attempts} tentatives")
    return Unavailable(f"connexion impossible après {attempts} tentatives")


# -- total deadline of one request --------------------------------------------------------------
#
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


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(config: PlatformConfig, url: str) -> None:
    """Refuse plain http:// to another machine: the credentials would cross the network in clear.

    Loopback stays allowed (the sandbox, a local tunnel); anything else needs the
    administrator's explicit `allow_insecure_http`.
    """
    if urllib.parse.urlsplit(url).scheme.lower() != "http" or is_loopback(url):
        return
    if config.allow_insecure_http:
        log.warning("plain http to %s allowed by allow_insecure_http", url)
        return
    raise ConfigError(
        f"Adresse de plateforme refusée : {url} est en http://, sans chiffrement ; "
        "l'identifiant, le mot de passe et le jeton du compte de service y passeraient en "
        "clair sur le réseau.",
        hint="Utilisez l'adresse https:// de la plateforme. Seulement pour un essai sur un "
        "réseau de confiance : ajoutez allow_insecure_http = true dans la section [platform] "
        "de la configuration.",
    )


class HttpClient:
    """One platform's HTTP access: a requests.Session per worker thread, shared cookies.

    requests.Session is not documented as thread-safe (psf/requests#2766), so each worker
    thread gets its own Session (threading.local); they share one cookie jar (http.cookiejar
    locks internally) so that a form login made by one thread serves them all, and one
    RateLimiter so that the cap is global.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        retry: RetryPolicy,
        limiter: RateLimiter,
        auth: requests.auth.AuthBase | tuple[str, str] | None = None,
        verify: bool | str = True,
        cert: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float = 0.0,
        run_deadline: float | None = None,
        run_deadline_label: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline
        """Total seconds one attempt may take, reading included (0: no limit)."""
        self.run_deadline = run_deadline
        """time.monotonic() after which no request is sent any more (None: no limit)."""
        self._run_deadline_label = run_deadline_label
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry
        self.limiter = limiter
        self.cookies = RequestsCookieJar()
        self._auth = auth
        self._verify = verify
        self._cert = cert
        self._headers = dict(headers or {})
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.cookies = self.cookies
            session.auth = self._auth
            session.verify = self._verify
            session.cert = self._cert
            session.headers.update(self._headers)
            adapter = WatchedAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            # requests' adapters do not retry by default (max_retries=0): retries are only ours.
            # trust_env stays on: collectivités often reach the internet through a proxy.
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _budget(self) -> float:
        """Seconds this attempt may take: the request's deadline, within the run's."""
        budget = self.deadline
        if self.run_deadline is not None:
            left = self.run_deadline - time.monotonic()
            if left <= 0:
                raise _GiveUp(
                    f"durée maximale de l'exécution atteinte ({self._run_deadline_label}) ; "
                    "le reste sera repris à la prochaine exécution"
                )
            budget = min(budget, left) if budget else left
        return budget

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(
            multiplier=self.retry.backoff_initial, max=self.retry.backoff_max
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            # The server said when; honour it exactly rather than guess.
            return exc.retry_after
        return backoff

    def request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send one request with the retry policy; raise Unavailable (AmbiguousWrite for writes).

        Non-idempotent requests are resent only when the server certainly did not process them
        (connection refused, 408/425/429/503); any other failure raises AmbiguousWrite.
        Redirects are never followed: connectors read them (logins, S²LOW's error shape).
        """
        # An absolute URL is taken as is: a login may cross to the platform's SSO host.
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            wait=self._wait,
            stop=stop_after_attempt(max(1, self.retry.max_attempts)),
            sleep=self.retry.sleep,
            before_sleep=functools.partial(self._log_retry, method, path),
            reraise=True,
        )
        try:
            return retrying(functools.partial(self._attempt, method, url, idempotent, kwargs))
        except (_GiveUp, _RetryableStatus, requests.Timeout, requests.ConnectionError) as exc:
            raise _unavailable_after(exc, self.retry.max_attempts) from None

    def _attempt(
        self, method: str, url: str, idempotent: bool, kwargs: Mapping[str, Any]
    ) -> requests.Response:
        """One try, under the rate cap and the deadline; raise what the retry policy reads."""
        self.limiter.acquire()
        budget = self._budget()
        try:
            response = self._send(method, url, budget, kwargs)
        except DeadlineExceeded:
            # Not retried: a server that trickles its answers does it again; the next
            # attempts would only multiply the wait.
            raise self._too_slow(budget, idempotent) from None
        except requests.exceptions.SSLError:
            # A refused certificate or an untrusted server: trying again changes nothing.
            raise _GiveUp(
                "échec de la négociation TLS (certificat client refusé ou certificat du "
                "serveur non reconnu par ca_bundle)"
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not idempotent and not _not_sent(exc):
                timed_out = isinstance(exc, requests.Timeout)
                kind = "délai de réponse dépassé" if timed_out else "connexion interrompue"
                raise _GiveUp(f"{kind} pendant l'écriture", ambiguous=True) from None
            raise
        return self._answered(response, idempotent)

    def _send(
        self, method: str, url: str, budget: float, kwargs: Mapping[str, Any]
    ) -> requests.Response:
        # A deadline that passed during the answer discards it even if it looked complete: a
        # connection-delimited body would just look shorter.
        with total_deadline(budget) if budget else contextlib.nullcontext():
            # verify is passed per request: a session-level value loses to
            # REQUESTS_CA_BUNDLE when trust_env is on (psf/requests#3829).
            return self._session().request(
                method,
                url,
                timeout=self.timeout,
                allow_redirects=False,
                verify=self._verify,
                **kwargs,
            )

    def _too_slow(self, budget: float, idempotent: bool) -> _GiveUp:
        """Why a request past its total deadline is given up (a lost answer for a write)."""
        if self.run_deadline is not None and time.monotonic() >= self.run_deadline:
            return _GiveUp(
                f"durée maximale de l'exécution atteinte ({self._run_deadline_label}) "
                "pendant une requête ; le reste sera repris à la prochaine exécution",
                ambiguous=not idempotent,
            )
        if not idempotent:
            return _GiveUp(
                f"réponse trop lente pendant l'écriture (plus de {budget:.0f} s)", ambiguous=True
            )
        return _GiveUp(
            f"la plateforme répond trop lentement (plus de {budget:.0f} s pour une requête)"
        )

    def _answered(self, response: requests.Response, idempotent: bool) -> requests.Response:
        """The response, unless its status is transient: then retried, or given up."""
        status = response.status_code
        if not _is_transient_status(status):
            return response
        if not idempotent and status not in WRITE_SAFE_STATUSES:
            raise _GiveUp(f"HTTP {status} pendant l'écriture", ambiguous=True)
        wait = parse_retry_after(response.headers.get("Retry-After"))
        cap = self.retry.retry_after_cap
        if wait is not None and wait > cap:
            raise _GiveUp(
                f"la plateforme demande d'attendre {wait:.0f} s (HTTP {status}), "
                f"au-delà de la limite de {cap:.0f} s"
            )
        raise _RetryableStatus(status, wait)

    def _log_retry(self, method: str, path: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        why = f"HTTP {exc.status}" if isinstance(exc, _RetryableStatus) else type(exc).__name__
        wait = state.next_action.sleep if state.next_action else 0.0
        # Path only: no query string, no header, so no identifier or secret in the log.
        log.info(
            "retrying %s %s after %s in %.2f s (attempt %d/%d)",
            method,
            path.split("?", 1)[0],
            why,
            wait,
            state.attempt_number + 1,
            self.retry.max_attempts,
        )

    def close(self) -> None:
        """Close every worker's session."""
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()


def client_for(
    config: PlatformConfig,
    url: str,
    *,
    retry: RetryPolicy | None = None,
    auth: requests.auth.AuthBase | tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpClient:
    """An HttpClient configured from [platform]: timeouts, attempts, rate cap, TLS files."""
    policy = retry or RetryPolicy(
        max_attempts=config.max_attempts, retry_after_cap=config.retry_after_cap_seconds
    )
    check_transport(config, url)
    cert = None
    if config.client_cert is not None:
        key = config.client_key or config.client_cert
        cert = (str(config.client_cert), str(key))
    return HttpClient(
        url,
        connect_timeout=config.connect_timeout_seconds,
        read_timeout=config.timeout_seconds,
        retry=policy,
        limiter=RateLimiter(config.rate_per_second),
        auth=auth,
        verify=str(config.ca_bundle) if config.ca_bundle is not None else True,
        cert=cert,
        headers=headers,
        deadline=config.request_deadline_seconds,
        run_deadline=(
            time.monotonic() + config.run_deadline_minutes * 60
            if config.run_deadline_minutes
            else None
        ),
        run_deadline_label=f"{config.run_deadline_minutes:g} min",
    )


def unavailable(platform: str, url: str, exc: Unavailable) -> PlatformUnavailable:
    """The run-stopping error for a platform that does not answer during check()."""
    return PlatformUnavailable(
        f"La plateforme {platform} ({url}) ne répond pas : {exc.reason}.",
        hint="Vérifiez l'adresse de la plateforme et le réseau, ou relancez plus tard.",
    )


def protocol_error(platform: str, what: str) -> PlatformProtocolError:
    """The run-stopping error for an answer we do not understand."""
    return PlatformProtocolError(
        f"Réponse inattendue de la plateforme {platform} : {what}.",
        hint="Vérifiez l'adresse configurée (url) : elle doit désigner la plateforme elle-même.",
    )
