"""The cryptography-vectors corpus: real files we did not write, read without a single escape."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from string import Formatter

import pytest

from certsync.certfiles.scan import list_files, read_file
from certsync.config import Limits
from certsync.findings import Code
from certsync.records import CertFile, FileFormat
from tests.certfiles.zoo import VECTORS

FOLDERS = ("x509", "pkcs7", "pkcs12")

#: Certificates that load but fail when names or extensions are first read (lazy parsing).
LAZY_TRAPS = (
    "x509/wosign-bc-invalid.pem",
    "x509/custom/cp_invalid.pem",
    "x509/custom/empty-eku.pem",
    "x509/custom/malformed-san.pem",
    "x509/custom/malformed-ian.pem",
    "x509/custom/two_basic_constraints.pem",
    "x509/custom/nc_invalid_ip_netmask.pem",
    "x509/custom/nc_ip_invalid_length.pem",
    "x509/custom/inhibit_any_policy_negative.pem",
    "x509/custom/invalid_utf8_common_name.pem",
    "x509/custom/long-form-name-attribute.pem",
    "x509/san_x400address.der",
    "x509/san_edipartyname.der",
    "x509/badasn1time.pem",
    "x509/custom/invalid_version.pem",
    "x509/ed25519/ed25519-rfc8410.pem",
)


@pytest.fixture(scope="module")
def corpus() -> dict[str, CertFile]:
    """Every corpus file read once, in one process, one after the other."""
    results: dict[str, CertFile] = {}
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning leaking out would reach the console
        for folder in FOLDERS:
            for entry in list_files(VECTORS / folder):
                results[f"{folder}/{entry.rel}"] = read_file(VECTORS / folder, entry.rel, Limits())
    elapsed = time.perf_counter() - started
    assert elapsed < 20, f"corpus took {elapsed:.1f} s"
    return results


def test_every_file_gets_a_status(corpus: dict[str, CertFile]) -> None:
    assert len(corpus) > 1800
    for rel, result in corpus.items():
        assert result.cert is not None or result.findings, rel
        if result.cert is None:
            assert any(f.blocking for f in result.findings), rel
        for note in result.findings:
            fields = {name for _, name, _, _ in Formatter().parse(note.spec.message) if name}
            assert fields <= set(note.params), (rel, note.code)


def test_every_pkcs12_file_is_a_private_key(corpus: dict[str, CertFile]) -> None:
    pfx = {rel: r for rel, r in corpus.items() if rel.endswith((".p12", ".pfx"))}
    assert len(pfx) > 400
    for rel, result in pfx.items():
        assert [f.code for f in result.findings] == [Code.FILE_PRIVATE_KEY], rel
        assert result.format is FileFormat.PKCS12
        assert result.cert is None and result.chain == ()


def test_known_files(corpus: dict[str, CertFile]) -> None:
    headers = corpus["x509/cryptography.io.with_headers.pem"]
    assert [f.code for f in headers.findings] == [Code.FILE_PRIVATE_KEY]
    assert headers.findings[0].params["kind"] == "clé privée PEM chiffrée"
    chain = corpus["x509/cryptography.io.chain.pem"]
    assert chain.cert is not None and chain.cert.common_name == "www.cryptography.io"
    assert len(chain.chain) == 1
    assert [f.code for f in chain.findings] == [Code.FILE_CHAIN_INCLUDED]
    ber = corpus["pkcs7/amazon-roots.p7b"]
    assert ber.format is FileFormat.PKCS7 and ber.cert is not None and ber.cert.is_ca
    assert corpus["x509/cryptography.io.pem"].cert is not None
    assert corpus["x509/v1_cert.pem"].cert is not None
    assert corpus["x509/ed448/root-ed448.pem"].cert is not None
    csr = corpus["x509/requests/rsa_sha256.pem"]
    assert csr.findings[0].params["reason"] == "demande de certificat (CSR) et non certificat"
    crl = corpus["x509/PKITS_data/crls/GoodCACRL.crl"]
    assert crl.findings[0].params["reason"] == "liste de révocation (CRL) et non certificat"
    assert corpus["pkcs12/ca/ca_key.pem"].findings[0].code is Code.FILE_PRIVATE_KEY


@pytest.mark.parametrize("rel", LAZY_TRAPS)
def test_lazy_parse_traps_are_rejected_with_a_reason(corpus: dict[str, CertFile], rel: str) -> None:
    result = corpus[rel]
    assert result.cert is None
    assert [f.code for f in result.findings] == [Code.FILE_NOT_A_CERTIFICATE]
    assert str(result.findings[0].params["reason"]).startswith("certificat mal formé")


def test_corpus_outcomes_do_not_drift(corpus: dict[str, CertFile]) -> None:
    # Counts measured when the reader was written; a change means detection changed.
    used = Counter(r.format for r in corpus.values() if r.cert is not None)
    assert used[FileFormat.DER] >= 400
    assert used[FileFormat.PEM] >= 100
    assert used[FileFormat.PKCS7] == 3
    reasons = Counter(str(f.params.get("reason", "")) for r in corpus.values() for f in r.findings)
    assert reasons["liste de révocation (CRL) et non certificat"] >= 170
    assert reasons["demande de certificat (CSR) et non certificat"] >= 18
