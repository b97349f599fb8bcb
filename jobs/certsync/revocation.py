"""Revocation checks against CRLs read from configured files or fetched from distribution points."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from cryptography import x509
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from certsync.connectors.http import total_deadline, watched_session
from certsync.errors import ConfigError
from certsync.findings import Code, Finding, finding
from certsync.fsutil import read_regular
from certsync.records import CertInfo
from certsync.trust import TrustStore, common_name

#: (connect, read) seconds: a CRL server that does not answer quickly will not answer at all,
#: and a slow one must not hold a 100,000-certificate run hostage.
TIMEOUT = (3.05, 10.0)
#: Real CRLs of large CAs reach a few megabytes; anything far bigger is not a CRL we want.
MAX_CRL_BYTES = 32 * 1024 * 1024
#: Total seconds for one download: TIMEOUT bounds each wait, not a server that trickles.
DEADLINE = 60.0

_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)


class _ServerError(Exception):
    """An HTTP 5xx answer: worth retrying, unlike a 404."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def parse_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    """Every CRL in `data` (DER, or one or more PEM blocks); ValueError if none can be read."""
    if data.lstrip().startswith(b"-----"):
        blocks = _PEM_CRL.findall(data)
        if not blocks:
            raise ValueError("no X509 CRL PEM block")
        crls = [x509.load_pem_x509_crl(block) for block in blocks]
    else:
        crls = [x509.load_der_x509_crl(data)]
    for crl in crls:
        # Parsing is lazy: read what we use now so a broken CRL fails here, not mid-run.
        crl.issuer.public_bytes()
        _ = crl.next_update_utc, crl.last_update_utc
    return crls


@dataclass(slots=True)
class _Crl:
    """One CRL with what each lookup needs precomputed; the serial index is built on first use."""

    crl: x509.CertificateRevocationList
    issuer: bytes
    """DER of the issuer name, compared against the certificate's without building Name objects."""
    next_update: datetime | None
    last_update: datetime
    valid_for: dict[bytes, bool] = field(default_factory=dict)
    """Signature check result per issuer certificate (keyed by that certificate's signature)."""
    revoked: dict[int, datetime] | None = None
    """Serial → revocation date; `get_revoked_certificate_by_serial_number` scans linearly."""

    @classmethod
    def of(cls, crl: x509.CertificateRevocationList) -> _Crl:
        return cls(crl, crl.issuer.public_bytes(), crl.next_update_utc, crl.last_update_utc)

    def signed_by(self, issuer: x509.Certificate) -> bool:
        valid = self.valid_for.get(issuer.signature)
        if valid is None:
            try:
                valid = self.crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                valid = False
            self.valid_for[issuer.signature] = valid
        return valid

    def revoked_on(self, serial: int) -> datetime | None:
        if self.revoked is None:
            self.revoked = {entry.serial_number: entry.revocation_date_utc for entry in self.crl}
        return self.revoked.get(serial)


def _date(when: datetime) -> str:
    return f"{when:%d/%m/%Y}"


class RevocationChecker:
    """Looks certificates up in CRLs; loads files once and caches downloads for the run.

    Not thread-safe: build one per worker process, like the Validator.
    Delta CRLs and partitioned CRLs (issuingDistributionPoint) are not interpreted: a CRL
    file given in the configuration is taken as the complete list for its issuer.
    """

    def __init__(
        self,
        crl_files: tuple[Path, ...],
        fetch: bool,
        as_of: datetime,
        trust: TrustStore | None,
        session: requests.Session | None = None,
        *,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._as_of = as_of
        # Without a trust store nothing vouches for the certificates, so the URLs they name are
        # never fetched (an untrusted file must not make the job call arbitrary addresses).
        self._fetch = fetch and trust is not None
        self._attempts = attempts
        self._sleep = sleep
        self._session = session if session is not None or not self._fetch else watched_session()
        self._files: dict[bytes, list[_Crl]] = {}
        for path in crl_files:
            for crl in self._load_file(path):
                entry = _Crl.of(crl)
                self._files.setdefault(entry.issuer, []).append(entry)
        for crls in self._files.values():
            # Newest first, so an old CRL left next to its replacement does not win.
            crls.sort(key=lambda c: c.last_update, reverse=True)
        self._issuers: dict[bytes, list[x509.Certificate]] = {}
        if trust is not None:
            for cert in (*trust.anchors, *trust.intermediates):
                self._issuers.setdefault(cert.subject.public_bytes(), []).append(cert)
        self._downloads: dict[str, _Crl | str] = {}

    @property
    def fetches(self) -> bool:
        """Whether CRLs named by certificates are downloaded."""
        return self._fetch

    @staticmethod
    def _load_file(path: Path) -> list[x509.CertificateRevocationList]:
        try:
            data = read_regular(path)
        except OSError as exc:
            raise ConfigError(
                f"Liste de révocation illisible : {path} ({exc.strerror or exc}).",
                hint="Vérifiez les chemins de « crl_files » dans la configuration.",
            ) from exc
        try:
            return parse_crls(data)
        except ValueError as exc:
            raise ConfigError(
                f"Liste de révocation invalide : {path} ({exc}).",
                hint="Le fichier doit être une CRL au format DER ou PEM (« X509 CRL »).",
            ) from exc

    def check(self, info: CertInfo, issuer: x509.Certificate | None) -> Finding | None:
        """CERT_REVOKED, CERT_REVOCATION_UNKNOWN, or None when the certificate is not revoked."""
        cert = x509.load_der_x509_certificate(info.der)
        return self.check_certificate(cert, issuer, info.crl_urls)

    def check_certificate(
        self,
        cert: x509.Certificate,
        issuer: x509.Certificate | None,
        crl_urls: Iterable[str] = (),
    ) -> Finding | None:
        """Same as `check`, for a certificate already loaded."""
        issuer_key = cert.issuer.public_bytes()

        def issuer_cn() -> str:
            # Only messages need it, and building it costs more than the happy path's lookup.
            return common_name(cert.issuer)

        crls = self._files.get(issuer_key)
        if not crls:
            if not self._fetch:
                return _unknown(
                    f"aucune liste de révocation de « {issuer_cn()} » parmi les fichiers fournis"
                )
            urls = tuple(crl_urls)
            if not urls:
                return _unknown("le certificat n'indique aucune adresse de liste de révocation")
            got = self._download_any(urls)
            if isinstance(got, str):
                return _unknown(got)
            crls = [got]
        issuers = [issuer] if issuer is not None else self._issuers.get(issuer_key, [])
        if not issuers:
            return _unknown(
                f"certificat de l'autorité « {issuer_cn()} » indisponible : la signature de la "
                "liste de révocation ne peut pas être vérifiée"
            )
        problem = ""
        for crl in crls:
            if crl.issuer != issuer_key:
                problem = f"la liste de révocation téléchargée n'est pas celle de « {issuer_cn()} »"
            elif not any(crl.signed_by(i) for i in issuers):
                problem = f"signature de la liste de révocation de « {issuer_cn()} » invalide"
            elif crl.next_update is not None and crl.next_update < self._as_of:
                problem = (
                    f"liste de révocation de « {issuer_cn()} » périmée depuis le "
                    f"{_date(crl.next_update)}"
                )
            else:
                revoked_on = crl.revoked_on(cert.serial_number)
                if revoked_on is None:
                    return None
                return finding(Code.CERT_REVOKED, revoked_on=_date(revoked_on), issuer=issuer_cn())
        return _unknown(problem)

    def _download_any(self, urls: tuple[str, ...]) -> _Crl | str:
        """The first CRL that downloads and parses, or the French reason of the last failure."""
        result: _Crl | str = ""
        for url in urls:
            if url not in self._downloads:
                self._downloads[url] = self._download(url)
            result = self._downloads[url]
            if not isinstance(result, str):
                return result
        return result

    def _download(self, url: str) -> _Crl | str:
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.5, max=4),
            retry=retry_if_exception_type(
                (requests.ConnectionError, requests.Timeout, _ServerError)
            ),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            data = retrying(self._get, url)
        except requests.Timeout:
            return f"téléchargement de {url} impossible (délai dépassé)"
        except requests.ConnectionError:
            return f"téléchargement de {url} impossible (serveur injoignable)"
        except _ServerError as exc:
            return f"téléchargement de {url} impossible (erreur du serveur, HTTP {exc.status})"
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            return f"téléchargement de {url} impossible (HTTP {status})"
        except requests.RequestException as exc:
            return f"téléchargement de {url} impossible ({type(exc).__name__})"
        except OverflowError:
            return f"téléchargement de {url} refusé (fichier de plus de {MAX_CRL_BYTES} octets)"
        try:
            crls = parse_crls(data)
        except ValueError:
            return f"le contenu de {url} n'est pas une liste de révocation lisible"
        return _Crl.of(crls[0])

    def _get(self, url: str) -> bytes:
        assert self._session is not None
        with (
            total_deadline(DEADLINE),
            self._session.get(url, timeout=TIMEOUT, stream=True) as response,
        ):
            if response.status_code >= 500:
                raise _ServerError(response.status_code)
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_CRL_BYTES:
                    raise OverflowError(url)
                chunks.append(chunk)
            return b"".join(chunks)


def _unknown(reason: str) -> Finding:
    return finding(Code.CERT_REVOCATION_UNKNOWN, reason=reason)
