"""CertInfo extraction: every field, identifiers, e-mails, key types, malformed input."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certsync.certfiles.parse import cert_info
from certsync.certfiles.pem import to_pem
from certsync.testkit.pki import (
    EPOCH,
    TEST_POLICY_OID,
    Issued,
    SamplePKI,
    agent_subject,
    ec_key,
    make_leaf,
    rsa_key,
)
from tests.certfiles.zoo import VECTORS

SOCLE_FORM = re.compile(
    r"^-{5}(BEGIN CERTIFICATE)-{5}([A-Za-z0-9+\/=\n\r]+)-{5}(END CERTIFICATE)-{5}$"
)


def _agent(pki: SamplePKI, **kwargs: Any) -> Issued:
    subject = agent_subject(
        "Claire",
        "MARTIN",
        siret="21350238800019",
        org="Ville de Rennes",
        email="Claire.Martin@rennes.fr",
        org_identifier="NTRFR-213502388",
    )
    return make_leaf(pki.chambersign_ca, subject, **kwargs)


def test_fields_of_an_rgs_like_certificate(pki: SamplePKI) -> None:
    issued = _agent(
        pki,
        san_email="claire.martin@rennes.fr",
        crl_url="http://crl.chambersign.fr/ca3-ng-rgs.crl",
        serial=0xABCDEF,
    )
    info = cert_info(issued.der)
    assert info.der == issued.der
    assert info.sha256 == hashlib.sha256(issued.der).hexdigest()
    assert info.sha1 == hashlib.sha1(issued.der).hexdigest()
    assert info.subject == issued.cert.subject.rfc4514_string()
    assert info.issuer == "CN=ChamberSign France CA3 NG RGS,O=ChamberSign France,C=FR"
    assert info.common_name == "Claire MARTIN"
    assert info.organisation == "Ville de Rennes"
    assert info.org_ids == ("21350238800019", "213502388")
    # SAN first, then the subject's address; the same address in another case is one address.
    assert info.emails == ("claire.martin@rennes.fr",)
    assert info.serial == "abcdef"
    assert info.not_before == EPOCH - dt.timedelta(days=30)
    assert info.not_after == info.not_before + dt.timedelta(days=3 * 365)
    assert (info.key_type, info.key_size, info.key_curve) == ("RSA", 2048, "")
    assert info.signature_hash == "sha256"
    assert (info.is_ca, info.self_issued) == (False, False)
    assert info.key_usage == ("digital_signature", "content_commitment")
    assert info.has_key_usage
    assert info.extended_key_usage == (
        ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
        ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string,
    )
    assert info.has_extended_key_usage
    assert info.policies == (TEST_POLICY_OID,)
    assert info.crl_urls == ("http://crl.chambersign.fr/ca3-ng-rgs.crl",)


def test_absent_extensions_give_empty_values(pki: SamplePKI) -> None:
    info = cert_info(
        _agent(pki, key_usage=(), eku=None, policies=(), ca=None, crl_url="ldap://x/cn=crl").der
    )
    assert (info.key_usage, info.has_key_usage) == ((), False)
    assert (info.extended_key_usage, info.has_extended_key_usage) == ((), False)
    assert info.policies == ()
    assert info.crl_urls == ()  # only http(s) distribution points are kept
    assert info.is_ca is False


def test_subject_email_is_kept_without_san(pki: SamplePKI) -> None:
    assert cert_info(_agent(pki).der).emails == ("Claire.Martin@rennes.fr",)


@pytest.mark.parametrize(
    ("unit", "ident", "expected"),
    [
        ("0002 21350238800019", "", ("21350238800019",)),
        ("0002 213 502 388", "", ("213502388",)),
        ("0002 2135023880001", "", ()),  # 13 digits: neither SIREN nor SIRET
        ("Direction des finances", "", ()),
        ("", "SIREN-213502388", ("213502388",)),
        ("", "NTRFR-21350238800019", ("21350238800019",)),
        ("", "VATFR-45213502388", ("213502388",)),
        ("0002 21350238800019", "NTRFR-21350238800019", ("21350238800019",)),
    ],
)
def test_org_ids(pki: SamplePKI, unit: str, ident: str, expected: tuple[str, ...]) -> None:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, "Claire MARTIN")]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    if ident:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, ident))
    issued = make_leaf(pki.chambersign_ca, x509.Name(attrs))
    assert cert_info(issued.der).org_ids == expected


def test_ec_key_and_sha384_signature(pki: SamplePKI) -> None:
    issued = _agent(pki, key=ec_key("secp384r1"), signature_hash=hashes.SHA384())
    info = cert_info(issued.der)
    assert (info.key_type, info.key_size, info.key_curve) == ("EC", 384, "secp384r1")
    assert info.signature_hash == "sha384"


def test_ca_and_self_issued(pki: SamplePKI) -> None:
    info = cert_info(pki.chambersign_root.der)
    assert info.is_ca and info.self_issued
    assert info.key_usage == ("key_cert_sign", "crl_sign")


def test_encipher_only_is_read_only_with_key_agreement(pki: SamplePKI) -> None:
    key = ec_key()
    usage = x509.KeyUsage(False, False, False, False, True, False, False, True, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ECDH")]))
        .issuer_name(pki.chambersign_ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(EPOCH)
        .not_valid_after(EPOCH + dt.timedelta(days=1))
        .add_extension(usage, critical=True)
        .sign(pki.chambersign_ca.key, hashes.SHA256())
    )
    assert cert_info(cert.public_bytes(Encoding.DER)).key_usage == (
        "key_agreement",
        "encipher_only",
    )


def test_ed25519_certificate_has_no_signature_hash() -> None:
    pem = (VECTORS / "x509" / "ed25519" / "root-ed25519.pem").read_bytes()
    info = cert_info(_der(pem))
    assert (info.key_type, info.key_size, info.signature_hash) == ("Ed25519", 256, "")


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


@pytest.mark.parametrize(
    ("vector", "reason"),
    [
        ("custom/two_basic_constraints.pem", "certificat mal formé : extension en double"),
        ("custom/malformed-san.pem", "certificat mal formé (encodage ASN.1 invalide)"),
        ("custom/invalid_utf8_common_name.pem", "certificat mal formé (encodage ASN.1 invalide)"),
        ("custom/empty-eku.pem", "certificat mal formé (encodage ASN.1 invalide)"),
        (
            "wosign-bc-invalid.pem",
            "certificat mal formé (path_length must be None when ca is False)",
        ),
        ("san_x400address.der", "certificat mal formé : type de nom alternatif non pris en charge"),
    ],
)
def test_lazily_parsed_faults_raise_value_error_up_front(vector: str, reason: str) -> None:
    # These load fine and only fail when .subject or .extensions is first read.
    data = (VECTORS / "x509" / vector).read_bytes()
    data = _der(data) if data.startswith(b"-----") else data
    x509.load_der_x509_certificate(data)
    with pytest.raises(ValueError, match=re.escape(reason)):
        cert_info(data)


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x00", b"garbage"])
def test_not_a_certificate_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="certificat mal formé"):
        cert_info(data)


def test_rsa_key_of_other_size(pki: SamplePKI) -> None:
    assert cert_info(_agent(pki, key=rsa_key(1024)).der).key_size == 1024


def test_to_pem_matches_the_socle_form(pki: SamplePKI) -> None:
    der = _agent(pki).der
    text = to_pem(der)
    assert SOCLE_FORM.fullmatch(text)
    assert not text.endswith("\n")
    body = text.split("\n")[1:-1]
    assert all(len(line) == 64 for line in body[:-1]) and 0 < len(body[-1]) <= 64
    assert _der(text.encode()) == der


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        ("v1_cert.pem", "md5"),
        ("verisign_md2_root.pem", "md2"),
        ("ee-pss-sha1-cert.pem", "sha1"),
        ("e-trust.ru.der", "1.2.643.2.2.3"),
    ],
)
def test_legacy_and_unknown_signature_hashes_are_named(vector: str, expected: str) -> None:
    data = (VECTORS / "x509" / vector).read_bytes()
    assert cert_info(_der(data) if data.startswith(b"-----") else data).signature_hash == expected


def test_unknown_key_algorithm_is_named_by_oid() -> None:
    info = cert_info((VECTORS / "x509" / "e-trust.ru.der").read_bytes())
    assert (info.key_type, info.key_size) == ("1.2.643.2.2.19", 0)
