"""HTTP plumbing shared by the connectors: sessions, timeouts, one retry policy and a rate cap."""

import contextlib
import functools
import ipaddress
import logging
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import requests
from requests.cookies import RequestsCookieJar
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from certsync.config import PlatformConfig
from certsync.connectors.deadline import (
    DeadlineExceeded,
    WatchedAdapter,
    total_deadline,
    watched_session,
)
from certsync.connectors.interface import Unavailable
from certsync.connectors.ratelimit import RateLimiter
from certsync.connectors.retry import (
    TRANSIENT_STATUSES,
    WRITE_SAFE_STATUSES,
    GiveUp,
    RetryableStatus,
    RetryPolicy,
    is_retryable,
    is_transient_status,
    not_sent,
    parse_retry_after,
    unavailable_after,
)
from certsync.errors import ConfigError, PlatformProtocolError, PlatformUnavailable

__all__ = [
    "TRANSIENT_STATUSES",
    "WRITE_SAFE_STATUSES",
    "DeadlineExceeded",
    "HttpClient",
    "RateLimiter",
    "RetryPolicy",
    "WatchedAdapter",
    "check_transport",
    "client_for",
    "is_loopback",
    "parse_retry_after",
    "protocol_error",
    "total_deadline",
    "unavailable",
    "watched_session",
]

log = logging.getLogger("certsync.connectors.http")


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
                raise GiveUp(
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
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
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
            retry=retry_if_exception(is_retryable),
            wait=self._wait,
            stop=stop_after_attempt(max(1, self.retry.max_attempts)),
            sleep=self.retry.sleep,
            before_sleep=functools.partial(self._log_retry, method, path),
            reraise=True,
        )
        try:
            return retrying(functools.partial(self._attempt, method, url, idempotent, kwargs))
        except (GiveUp, RetryableStatus, requests.Timeout, requests.ConnectionError) as exc:
            raise unavailable_after(exc, self.retry.max_attempts) from None

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
            raise GiveUp(
                "échec de la négociation TLS (certificat client refusé ou certificat du "
                "serveur non reconnu par ca_bundle)"
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not idempotent and not not_sent(exc):
                timed_out = isinstance(exc, requests.Timeout)
                kind = "délai de réponse dépassé" if timed_out else "connexion interrompue"
                raise GiveUp(f"{kind} pendant l'écriture", ambiguous=True) from None
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

    def _too_slow(self, budget: float, idempotent: bool) -> GiveUp:
        """Why a request past its total deadline is given up (a lost answer for a write)."""
        if self.run_deadline is not None and time.monotonic() >= self.run_deadline:
            return GiveUp(
                f"durée maximale de l'exécution atteinte ({self._run_deadline_label}) "
                "pendant une requête ; le reste sera repris à la prochaine exécution",
                ambiguous=not idempotent,
            )
        if not idempotent:
            return GiveUp(
                f"réponse trop lente pendant l'écriture (plus de {budget:.0f} s)", ambiguous=True
            )
        return GiveUp(
            f"la plateforme répond trop lentement (plus de {budget:.0f} s pour une requête)"
        )

    def _answered(self, response: requests.Response, idempotent: bool) -> requests.Response:
        """The response, unless its status is transient: then retried, or given up."""
        status = response.status_code
        if not is_transient_status(status):
            return response
        if not idempotent and status not in WRITE_SAFE_STATUSES:
            raise GiveUp(f"HTTP {status} pendant l'écriture", ambiguous=True)
        wait = parse_retry_after(response.headers.get("Retry-After"))
        cap = self.retry.retry_after_cap
        if wait is not None and wait > cap:
            raise GiveUp(
                f"la plateforme demande d'attendre {wait:.0f} s (HTTP {status}), "
                f"au-delà de la limite de {cap:.0f} s"
            )
        raise RetryableStatus(status, wait)

    def _log_retry(self, method: str, path: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        why = f"HTTP {exc.status}" if isinstance(exc, RetryableStatus) else type(exc).__name__
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
