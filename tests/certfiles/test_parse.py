"""CertInfo extraction: every field, identifiers, e-mails, key types, malformed input."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import warnings
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from certsync.certfiles import der as der_module
from certsync.certfiles import parse
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


# -- One-pass subject reading and the issuer cache must give what cryptography gives ----------

_NAME_OIDS = [
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.ORGANIZATION_IDENTIFIER,
    NameOID.EMAIL_ADDRESS,
    NameOID.SURNAME,
    NameOID.LOCALITY_NAME,
    NameOID.DOMAIN_COMPONENT,
    x509.ObjectIdentifier("1.2.250.1.999.7"),  # no RFC 4514 short name: written dotted
]
# RFC 4514 specials, spaces and `#` where they change the escaping, plus any other text.
_DN_VALUES = st.text(
    alphabet=st.sampled_from(list('\\"+,;<>\0# =aé€')) | st.characters(exclude_categories=["Cs"]),
    min_size=1,
    max_size=12,
)


@st.composite
def _names(draw: st.DrawFn) -> x509.Name:
    rdns = []
    for _ in range(draw(st.integers(0, 5))):
        oids = draw(st.lists(st.sampled_from(_NAME_OIDS), min_size=1, max_size=2, unique=True))
        rdns.append(
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(oid, draw(_DN_VALUES)) for oid in oids]
            )
        )
    if draw(st.booleans()):
        unique = x509.NameAttribute(
            NameOID.X500_UNIQUE_IDENTIFIER, draw(st.binary(max_size=4)), _ASN1Type.BitString
        )
        rdns.append(x509.RelativeDistinguishedName([unique]))
    return x509.Name(rdns)


def _values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in name.get_attributes_for_oid(oid)]


@given(_names())
@settings(max_examples=300)
def test_one_pass_subject_reading_matches_cryptography(name: x509.Name) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # values longer than 64 for CN only warn
        fields = parse._SubjectFields(name)
    assert fields.text == name.rfc4514_string()
    assert [fields.common_name] == (_values(name, NameOID.COMMON_NAME) or [""])[:1]
    assert [fields.organisation] == (_values(name, NameOID.ORGANIZATION_NAME) or [""])[:1]
    assert fields.units == _values(name, NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert fields.identifiers == _values(name, NameOID.ORGANIZATION_IDENTIFIER)
    assert fields.emails == _values(name, NameOID.EMAIL_ADDRESS)


@pytest.mark.parametrize("vector", ["v1_cert.pem", "unique_identifier.pem", "e-trust.ru.der"])
def test_issuer_bytes_locates_the_issuer(vector: str) -> None:
    data = (VECTORS / "x509" / vector).read_bytes()
    der = _der(data) if data.startswith(b"-----") else data
    # v1 (no version field), unique identifiers, an unknown key algorithm.
    assert der_module.issuer_bytes(der) == x509.load_der_x509_certificate(der).issuer.public_bytes()


def test_issuer_bytes_refuses_what_is_not_a_certificate() -> None:
    assert der_module.issuer_bytes(b"") is None
    assert der_module.issuer_bytes(b"\x30\x03\x02\x01\x00") is None
    assert der_module.issuer_bytes(b"\x30\x80\x30\x80\x02\x01\x01") is None


def test_issuer_cache_gives_what_parsing_gives(
    pki: SamplePKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse, "_ISSUERS", {})
    certs = [
        _agent(pki),
        make_leaf(pki.certigna_ca, agent_subject("Yann", "LE GALL")),
        _agent(pki, serial=0x1234),
        pki.certigna_root,
    ]
    first = [cert_info(c.der) for c in certs]
    again = [cert_info(c.der) for c in certs]  # now from the cache
    assert first == again
    assert [i.issuer for i in again] == [c.cert.issuer.rfc4514_string() for c in certs]
    assert len(parse._ISSUERS) == 3
    assert again[3].self_issued and not again[1].self_issued


def test_issuer_cache_is_bounded(pki: SamplePKI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "_ISSUERS", {})
    monkeypatch.setattr(parse, "_MAX_ISSUERS", 1)
    cert_info(_agent(pki).der)
    info = cert_info(make_leaf(pki.certigna_ca, agent_subject("Yann", "LE GALL")).der)
    assert info.issuer == pki.certigna_ca.cert.subject.rfc4514_string()
    assert list(parse._ISSUERS.values()) == [pki.chambersign_ca.cert.subject.rfc4514_string()]
