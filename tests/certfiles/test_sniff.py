"""The sniffer on every zoo variant: format, extracted DERs, private keys, French reasons."""

from __future__ import annotations

import time
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certsync.certfiles import sniff as sniff_module
from certsync.certfiles.sniff import sniff
from certsync.findings import Code
from certsync.records import FileFormat
from tests.certfiles.zoo import VECTORS, Case, names

SINGLE = [
    "lf.pem",
    "crlf.cer",
    "bom.cer",
    "text-around.txt",
    "no-final-newline.crt",
    "x509-label.pem",
    "trusted.pem",
    "utf16le-bom.cer",
    "utf16be-bom.cer",
    "utf16le.cer",
    "utf16be.cer",
    "plain.der",
    "der-nuls.cer",
    "der-crlf.cer",
    "b64-one-line.cer",
    "b64-64col-crlf.cer",
    "b64-utf16.cer",
]


@pytest.mark.parametrize("name", names())
def test_zoo_file_is_classified_as_expected(cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    result = sniff(case.data)
    assert result.format is case.format
    if case.code is Code.FILE_PRIVATE_KEY:
        assert result.private_key
        assert result.ders == ()
        assert result.error is None
    elif case.code in (Code.FILE_UNREADABLE, Code.FILE_NOT_A_CERTIFICATE):
        assert result.error is not None
        assert result.error[0] is case.code
        assert result.error[1]
        assert result.ders == ()
    else:
        assert result.error is None
        assert len(result.ders) == case.count
        for der in result.ders:
            assert (
                x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.DER) == der
            )


@pytest.mark.parametrize("name", SINGLE)
def test_every_encoding_gives_back_the_exact_der(cases: dict[str, Case], name: str) -> None:
    # Trust data, trailing bytes, BOMs and UTF-16 must all be stripped down to the same bytes.
    assert sniff(cases[name].data).ders == (cases["plain.der"].data,)


def test_trailing_bytes_after_der_are_noted(cases: dict[str, Case]) -> None:
    assert sniff(cases["der-nuls.cer"].data).notes == ("trailing-bytes:2",)


def test_encoding_is_noted(cases: dict[str, Case]) -> None:
    assert sniff(cases["utf16be.cer"].data).notes == ("utf-16be",)
    assert sniff(cases["bom.cer"].data).notes == ("utf-8-bom",)
    assert "base64" in sniff(cases["b64-one-line.cer"].data).notes


def test_ber_pkcs7_is_read_without_leaking_the_warning(cases: dict[str, Case]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sniff(cases["ber.p7b"].data)
    assert result.format is FileFormat.PKCS7
    assert "ber" in result.notes
    assert len(result.ders) == 2
    assert caught == []


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("nopwd.pfx", "conteneur PKCS#12 (.pfx ou .p12)"),
        ("pwd.p12", "conteneur PKCS#12 (.pfx ou .p12)"),
        ("pfx-b64.cer", "conteneur PKCS#12 (.pfx ou .p12)"),
        ("cert-key.pem", "clé privée PEM"),
        ("key-encrypted.pem", "clé privée PEM chiffrée"),
        ("rsa-key-legacy-encrypted.cer", "clé privée PEM chiffrée"),
        ("key-pkcs8.der", "clé privée au format binaire"),
        ("key-pkcs1.der", "clé privée au format binaire"),
        ("key-pkcs8-encrypted.der", "clé privée chiffrée au format binaire"),
        ("key-b64.txt", "clé privée au format binaire"),
        ("der-then-key.cer", "clé privée au format binaire"),
    ],
)
def test_private_key_kind_is_described_in_french(
    cases: dict[str, Case], name: str, kind: str
) -> None:
    assert sniff(cases[name].data).private_key == kind


def test_private_keys_are_never_loaded(
    cases: dict[str, Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a private key loader was called")

    for name in ("load_key_and_certificates", "load_pkcs12"):
        monkeypatch.setattr(pkcs12, name, forbidden)
    for name in ("load_pem_private_key", "load_der_private_key"):
        monkeypatch.setattr(serialization, name, forbidden)
    keyed = [c for c in cases.values() if c.code is Code.FILE_PRIVATE_KEY]
    assert len(keyed) >= 10
    for case in keyed:
        assert sniff(case.data).private_key


def test_ec_sec1_key_in_der_is_detected() -> None:
    from certsync.testkit.pki import ec_key

    data = ec_key().private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert sniff(data).format is FileFormat.PRIVATE_KEY


def test_key_line_without_end_still_counts_as_a_key(cases: dict[str, Case]) -> None:
    # A key cut in half is still a leaked key: the BEGIN line alone is enough.
    text = cases["lf.pem"].data + b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI"
    assert sniff(text).private_key == "clé privée PEM"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("request.csr.cer", "demande de certificat (CSR) et non certificat"),
        ("request.der", "demande de certificat (CSR) et non certificat"),
        ("revoked.crl.cer", "liste de révocation (CRL) et non certificat"),
        ("revoked.crl.der", "liste de révocation (CRL) et non certificat"),
        ("pubkey.pem", "clé publique seule, sans certificat"),
        ("empty.cer", "fichier vide"),
        ("blank.cer", "fichier vide (seulement des espaces)"),
        ("truncated.cer", "fichier tronqué (certificat incomplet)"),
        ("screenshot.cer", "image PNG"),
        ("error-page.cer", "page HTML"),
        ("random.bin", "contenu binaire non reconnu"),
        ("notes.txt", "texte qui ne contient pas de certificat"),
    ],
)
def test_rejection_reason_is_in_french(cases: dict[str, Case], name: str, reason: str) -> None:
    error = sniff(cases[name].data).error
    assert error is not None
    assert error[1] == reason


def test_text_starting_with_zero_is_not_taken_for_der() -> None:
    # "0" is 0x30, the DER SEQUENCE tag: an OU value pasted in a file must not read as DER.
    error = sniff(b"0002 21350238800019\n").error
    assert error == (Code.FILE_NOT_A_CERTIFICATE, "texte qui ne contient pas de certificat")


def test_pem_block_with_broken_base64_is_reported(cases: dict[str, Case]) -> None:
    data = cases["lf.pem"].data.replace(b"MII", b"M*I", 1)
    error = sniff(data).error
    assert error is not None
    assert error[1] == "bloc PEM « CERTIFICATE » mal encodé"


def test_enveloped_pkcs7_is_not_a_certificate() -> None:

    error = sniff((VECTORS / "pkcs7" / "enveloped.pem").read_bytes()).error
    assert error == (Code.FILE_NOT_A_CERTIFICATE, "message PKCS#7 chiffré ou sans certificat")


def test_der_file_skips_the_text_path(
    cases: dict[str, Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 100,000-file case: a DER file must not be decoded or scanned as text at all.
    def forbidden(*args: object) -> None:
        raise AssertionError("text path used for DER")

    monkeypatch.setattr(sniff_module.pem, "to_text", forbidden)
    assert len(sniff(cases["plain.der"].data).ders) == 1


def test_pem_after_text_starting_with_a_digit(cases: dict[str, Case]) -> None:
    # "00…" reads as a DER SEQUENCE header; the PEM block after it must still be found.
    data = b"0002 21350238800019 Claire MARTIN\n" + cases["lf.pem"].data
    assert sniff(data).ders == (cases["plain.der"].data,)


def test_nesting_too_deep_is_not_called_truncated() -> None:
    error = sniff(b"\x30\x80" * 40 + b"\x00\x00" * 40).error
    assert error == (Code.FILE_NOT_A_CERTIFICATE, "contenu binaire non reconnu")


@pytest.mark.parametrize(
    "data",
    [
        b"-----BEGIN A-----\n" * 58_000,  # unterminated blocks: quadratic with a lazy regex
        b"-----BEGIN A-----" + b"-----END B-----" * 60_000,
        b"\xff\xfe" + ("-----BEGIN A-----\n" * 29_000).encode("utf-16-le"),
        b"\x30\x80" + b"\x30\x00" * 500_000 + b"\x00\x00",  # BER with half a million children
        b"\x30\x00" * 500_000,
        b"MII" + b"A" * 1_000_000,
    ],
)
def test_hostile_files_of_the_maximum_size_stay_fast(data: bytes) -> None:
    started = time.perf_counter()
    result = sniff(data)
    assert time.perf_counter() - started < 3  # measured 0.002 to 0.16 s
    assert result.error is not None
