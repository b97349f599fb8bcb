"""Tests for certsync.revocation: CRL files, downloads over loopback HTTP, use by the Validator."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certsync.config import Policy
from certsync.errors import ConfigError
from certsync.findings import Code, Severity
from certsync.revocation import RevocationChecker
from certsync.testkit.pki import (
    EPOCH,
    Issued,
    SamplePKI,
    make_crl,
    make_intermediate,
    make_leaf,
    rsa_key,
)
from certsync.trust import TrustStore
from certsync.validate import Validator
from tests.test_validate import SUBJECT, info_of, trust_of

REVOKED_ON = dt.datetime(2026, 1, 10, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def trust(pki: SamplePKI) -> TrustStore:
    return trust_of(pki.chambersign_root, pki.chambersign_ca, pki.certigna_root, pki.certigna_ca)


def _crl_file(tmp_path: Path, crl: x509.CertificateRevocationList, pem: bool = False) -> Path:
    path = tmp_path / ("ca.crl.pem" if pem else "ca.crl")
    path.write_bytes(crl.public_bytes(Encoding.PEM if pem else Encoding.DER))
    return path


def _leaf(pki: SamplePKI, serial: int, crl_url: str = "") -> x509.Certificate:
    return make_leaf(pki.chambersign_ca, SUBJECT, serial=serial, crl_url=crl_url).cert


# --- CRL files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pem", [False, True], ids=["der", "pem"])
def test_revoked_serial_in_crl_file(
    pki: SamplePKI, trust: TrustStore, tmp_path: Path, pem: bool
) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON), (0xBAD2, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl, pem),), False, EPOCH, trust)
    found = checker.check(info_of(_leaf(pki, 0xBAD2)), pki.chambersign_ca.cert)
    assert found is not None
    assert found.code is Code.CERT_REVOKED
    assert found.params == {"revoked_on": "10/01/2026", "issuer": "ChamberSign France CA3 NG RGS"}
    assert found.blocking


def test_serial_not_in_crl_file(pki: SamplePKI, trust: TrustStore, tmp_path: Path) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, trust)
    assert checker.check(info_of(_leaf(pki, 0x600D)), pki.chambersign_ca.cert) is None


def test_issuer_taken_from_trust_store_when_not_given(
    pki: SamplePKI, trust: TrustStore, tmp_path: Path
) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, trust)
    found = checker.check(info_of(_leaf(pki, 0xBAD1)), None)
    assert found is not None
    assert found.code is Code.CERT_REVOKED


def test_without_issuer_certificate_the_crl_cannot_be_trusted(
    pki: SamplePKI, tmp_path: Path
) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, None)
    found = checker.check(info_of(_leaf(pki, 0xBAD1)), None)
    assert found is not None
    assert found.code is Code.CERT_REVOCATION_UNKNOWN
    assert "indisponible" in str(found.params["reason"])


def test_crl_with_bad_signature(pki: SamplePKI, trust: TrustStore, tmp_path: Path) -> None:
    # Same issuer name, other key: what a forged or mixed-up CRL looks like.
    impostor = Issued(pki.chambersign_ca.cert, rsa_key(2048, slot=41))
    crl = make_crl(impostor, [])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, trust)
    found = checker.check(info_of(_leaf(pki, 0x600D)), pki.chambersign_ca.cert)
    assert found is not None
    assert found.code is Code.CERT_REVOCATION_UNKNOWN
    assert found.severity is Severity.WARNING
    assert found.params == {
        "reason": "signature de la liste de révocation de "
        "« ChamberSign France CA3 NG RGS » invalide"
    }


def test_expired_crl(pki: SamplePKI, trust: TrustStore, tmp_path: Path) -> None:
    crl = make_crl(
        pki.chambersign_ca,
        [],
        last_update=EPOCH - dt.timedelta(days=40),
        next_update=EPOCH - dt.timedelta(days=10),
    )
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, trust)
    found = checker.check(info_of(_leaf(pki, 0x600D)), pki.chambersign_ca.cert)
    assert found is not None
    assert found.code is Code.CERT_REVOCATION_UNKNOWN
    assert "périmée depuis le 05/01/2026" in str(found.params["reason"])


def test_newest_crl_wins_over_an_older_one(
    pki: SamplePKI, trust: TrustStore, tmp_path: Path
) -> None:
    old = make_crl(pki.chambersign_ca, [], last_update=EPOCH - dt.timedelta(days=5))
    new = make_crl(
        pki.chambersign_ca, [(0xBAD1, REVOKED_ON)], last_update=EPOCH - dt.timedelta(days=1)
    )
    both = tmp_path / "both.pem"
    both.write_bytes(old.public_bytes(Encoding.PEM) + new.public_bytes(Encoding.PEM))
    checker = RevocationChecker((both,), False, EPOCH, trust)
    found = checker.check(info_of(_leaf(pki, 0xBAD1)), pki.chambersign_ca.cert)
    assert found is not None
    assert found.code is Code.CERT_REVOKED


def test_no_crl_for_this_issuer(pki: SamplePKI, trust: TrustStore, tmp_path: Path) -> None:
    crl = make_crl(pki.certigna_ca, [])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, trust)
    found = checker.check(info_of(_leaf(pki, 0x600D)), pki.chambersign_ca.cert)
    assert found is not None
    assert found.params == {
        "reason": "aucune liste de révocation de « ChamberSign France CA3 NG RGS » parmi les "
        "fichiers fournis"
    }


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (None, "illisible"),
        (b"garbage", "invalide"),
        (b"-----BEGIN X509 CRL-----\nAA\n", "invalide"),
    ],
    ids=["missing", "garbage", "truncated-pem"],
)
def test_bad_crl_file_is_a_config_error(tmp_path: Path, data: bytes | None, match: str) -> None:
    path = tmp_path / "bad.crl"
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(ConfigError, match=match) as caught:
        RevocationChecker((path,), False, EPOCH, None)
    assert str(path) in caught.value.message


# --- downloads ----------------------------------------------------------------------------------


@dataclass
class CrlServer:
    """A loopback HTTP server answering each path from a script of (status, body) replies."""

    base: str = ""
    script: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def crl_server() -> Iterator[CrlServer]:
    state = CrlServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            replies = state.script.get(self.path) or [(404, b"")]
            status, body = replies.pop(0) if len(replies) > 1 else replies[0]
            self.send_response(status)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _fetcher(trust: TrustStore, sleeps: list[float] | None = None) -> RevocationChecker:
    log = sleeps if sleeps is not None else []
    return RevocationChecker((), True, EPOCH, trust, sleep=log.append)


def test_fetch_retries_a_503_then_uses_and_caches_the_crl(
    pki: SamplePKI, trust: TrustStore, crl_server: CrlServer
) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)]).public_bytes(Encoding.DER)
    crl_server.script["/ca3.crl"] = [(503, b"busy"), (200, crl)]
    url = crl_server.base + "/ca3.crl"
    sleeps: list[float] = []
    checker = _fetcher(trust, sleeps)
    revoked = checker.check(info_of(_leaf(pki, 0xBAD1, url)), pki.chambersign_ca.cert)
    assert revoked is not None
    assert revoked.code is Code.CERT_REVOKED
    assert len(sleeps) == 1
    assert checker.check(info_of(_leaf(pki, 0x600D, url)), pki.chambersign_ca.cert) is None
    assert crl_server.hits == ["/ca3.crl", "/ca3.crl"]  # the second certificate used the cache


def test_fetch_accepts_pem_crl(pki: SamplePKI, trust: TrustStore, crl_server: CrlServer) -> None:
    crl = make_crl(pki.chambersign_ca, []).public_bytes(Encoding.PEM)
    crl_server.script["/ca3.pem"] = [(200, crl)]
    checker = _fetcher(trust)
    assert checker.check(info_of(_leaf(pki, 1, crl_server.base + "/ca3.pem")), None) is None


def test_fetch_404_is_not_retried(pki: SamplePKI, trust: TrustStore, crl_server: CrlServer) -> None:
    sleeps: list[float] = []
    url = crl_server.base + "/gone.crl"
    found = _fetcher(trust, sleeps).check(info_of(_leaf(pki, 1, url)), None)
    assert found is not None
    assert found.code is Code.CERT_REVOCATION_UNKNOWN
    assert found.params == {"reason": f"téléchargement de {url} impossible (HTTP 404)"}
    assert sleeps == []


def test_fetch_gives_up_after_repeated_5xx(
    pki: SamplePKI, trust: TrustStore, crl_server: CrlServer
) -> None:
    crl_server.script["/down.crl"] = [(502, b"")]
    sleeps: list[float] = []
    found = _fetcher(trust, sleeps).check(
        info_of(_leaf(pki, 1, crl_server.base + "/down.crl")), None
    )
    assert found is not None
    assert "erreur du serveur, HTTP 502" in str(found.params["reason"])
    assert len(sleeps) == 2
    assert len(crl_server.hits) == 3


def test_fetch_connection_refused(pki: SamplePKI, trust: TrustStore) -> None:
    # Port 9 on loopback (discard) is closed on any sane test machine.
    url = "http://127.0.0.1:9/ca.crl"
    found = _fetcher(trust).check(info_of(_leaf(pki, 1, url)), None)
    assert found is not None
    assert found.params == {"reason": f"téléchargement de {url} impossible (serveur injoignable)"}


def test_fetch_not_a_crl(pki: SamplePKI, trust: TrustStore, crl_server: CrlServer) -> None:
    crl_server.script["/page.html"] = [(200, b"<html>maintenance</html>")]
    url = crl_server.base + "/page.html"
    found = _fetcher(trust).check(info_of(_leaf(pki, 1, url)), None)
    assert found is not None
    assert "n'est pas une liste de révocation" in str(found.params["reason"])


def test_fetch_crl_of_another_issuer(
    pki: SamplePKI, trust: TrustStore, crl_server: CrlServer
) -> None:
    crl_server.script["/other.crl"] = [
        (200, make_crl(pki.certigna_ca, []).public_bytes(Encoding.DER))
    ]
    found = _fetcher(trust).check(info_of(_leaf(pki, 1, crl_server.base + "/other.crl")), None)
    assert found is not None
    assert "n'est pas celle de" in str(found.params["reason"])


def test_fetch_without_distribution_point(pki: SamplePKI, trust: TrustStore) -> None:
    found = _fetcher(trust).check(info_of(_leaf(pki, 1)), None)
    assert found is not None
    assert found.code is Code.CERT_REVOCATION_UNKNOWN
    assert "aucune adresse" in str(found.params["reason"])


def test_crl_file_takes_precedence_over_download(
    pki: SamplePKI, trust: TrustStore, tmp_path: Path, crl_server: CrlServer
) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), True, EPOCH, trust)
    found = checker.check(info_of(_leaf(pki, 0xBAD1, crl_server.base + "/x.crl")), None)
    assert found is not None
    assert found.code is Code.CERT_REVOKED
    assert crl_server.hits == []


# --- through the Validator ----------------------------------------------------------------------


def test_validator_reports_revoked_with_issuer_from_the_chain(
    pki: SamplePKI, tmp_path: Path
) -> None:
    # The trust store holds only the roots: the issuer comes from the verified chain (file chain).
    roots = trust_of(pki.chambersign_root, pki.certigna_root)
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, roots)
    validator = Validator(roots, Policy(), EPOCH, checker)
    chain = (info_of(pki.chambersign_ca.cert),)
    found = validator.check(info_of(_leaf(pki, 0xBAD1)), chain)
    assert [f.code for f in found] == [Code.CERT_REVOKED]
    assert validator.check(info_of(_leaf(pki, 0x600D)), chain) == ()


def test_validator_skips_revocation_for_blocked_certificates(
    pki: SamplePKI, trust: TrustStore, tmp_path: Path
) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, trust)
    validator = Validator(trust, Policy(), EPOCH, checker)
    expired = make_leaf(
        pki.chambersign_ca,
        SUBJECT,
        serial=0xBAD1,
        not_before=EPOCH - dt.timedelta(days=400),
        days=365,
    )
    assert [f.code for f in validator.check(info_of(expired.cert))] == [Code.CERT_EXPIRED]


def test_validator_without_trust_uses_the_file_chain_for_the_crl(
    pki: SamplePKI, tmp_path: Path
) -> None:
    crl = make_crl(pki.chambersign_ca, [(0xBAD1, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, None)
    validator = Validator(None, Policy(skip_chain_check=True), EPOCH, checker)
    chain = (info_of(pki.chambersign_ca.cert),)
    found = validator.check(info_of(_leaf(pki, 0xBAD1)), chain)
    assert [f.code for f in found] == [Code.CERT_CHAIN_UNCHECKED, Code.CERT_REVOKED]


def test_validator_revocation_on_ec_chain(
    pki: SamplePKI, trust: TrustStore, tmp_path: Path
) -> None:
    other_ca = make_intermediate(pki.certigna_root, "Certigna Autre CA", key=rsa_key(2048, slot=42))
    crl = make_crl(pki.certigna_ca, [(0xBAD3, REVOKED_ON)])
    checker = RevocationChecker((_crl_file(tmp_path, crl),), False, EPOCH, trust)
    validator = Validator(trust, Policy(), EPOCH, checker)
    revoked = make_leaf(pki.certigna_ca, SUBJECT, serial=0xBAD3).cert
    assert [f.code for f in validator.check(info_of(revoked))] == [Code.CERT_REVOKED]
    # A certificate from an issuer with no CRL on file: unknown, a warning only.
    unknown = make_leaf(other_ca, SUBJECT).cert
    validator_other = Validator(trust_of(pki.certigna_root, other_ca), Policy(), EPOCH, checker)
    [found] = validator_other.check(info_of(unknown))
    assert found.code is Code.CERT_REVOCATION_UNKNOWN
    assert not found.blocking


def test_no_download_without_a_trust_store(pki: SamplePKI) -> None:
    from certsync.ingest import CheckSetup, make_validator

    policy = Policy(crl_fetch=True, skip_chain_check=True)
    untrusted = make_validator(CheckSetup(None, policy, EPOCH))
    assert untrusted.revocation is not None and not untrusted.revocation.fetches
    checker = RevocationChecker((), True, EPOCH, trust_of(pki.chambersign_root))
    assert checker.fetches
