"""HTTP plumbing shared by the connectors: sessions, timeouts, one retry policy and a rate cap."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.cookies import RequestsCookieJar
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from certsync.config import PlatformConfig
from certsync.connectors.interface import AmbiguousWrite, Unavailable
from certsync.errors import PlatformProtocolError, PlatformUnavailable

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
    ) -> None:
        self.base_url = base_url.rstrip("/")
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
            # requests' adapters do not retry by default (max_retries=0): retries are only ours.
            # trust_env stays on: collectivités often reach the internet through a proxy.
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

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
        cap = self.retry.retry_after_cap

        def attempt() -> requests.Response:
            self.limiter.acquire()
            try:
                # verify is passed per request: a session-level value loses to
                # REQUESTS_CA_BUNDLE when trust_env is on (psf/requests#3829).
                response = self._session().request(
                    method,
                    url,
                    timeout=self.timeout,
                    allow_redirects=False,
                    verify=self._verify,
                    **kwargs,
                )
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
            status = response.status_code
            if not _is_transient_status(status):
                return response
            if not idempotent and status not in WRITE_SAFE_STATUSES:
                raise _GiveUp(f"HTTP {status} pendant l'écriture", ambiguous=True)
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > cap:
                raise _GiveUp(
                    f"la plateforme demande d'attendre {wait:.0f} s (HTTP {status}), "
                    f"au-delà de la limite de {cap:.0f} s"
                )
            raise _RetryableStatus(status, wait)

        def before_sleep(state: RetryCallState) -> None:
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

        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            wait=self._wait,
            stop=stop_after_attempt(max(1, self.retry.max_attempts)),
            sleep=self.retry.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        attempts = self.retry.max_attempts
        try:
            return retrying(attempt)
        except _GiveUp as exc:
            raise (AmbiguousWrite if exc.ambiguous else Unavailable)(exc.reason) from None
        except _RetryableStatus as exc:
            raise Unavailable(f"HTTP {exc.status} après {attempts} tentatives") from None
        except requests.Timeout:
            raise Unavailable(f"délai de réponse dépassé après {attempts} tentatives") from None
        except requests.ConnectionError:
            raise Unavailable(f"connexion impossible après {attempts} tentatives") from None

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
