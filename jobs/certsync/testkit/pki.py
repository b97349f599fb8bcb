"""A small test PKI: roots, intermediates and agents' certificates shaped like real RGS ones."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from certsync.certfiles.parse import KEY_USAGE_BITS

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: Fixed reference instant for generated data, so that samples and tests are reproducible.
EPOCH = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)

#: A made-up RGS** policy OID under a private arc (real CA OIDs are unverified: certificates.md).
TEST_POLICY_OID = "1.2.250.1.999.1.2.2"

_serials = itertools.count(0x1000)


@functools.cache
def rsa_key(size: int = 2048, slot: int = 0) -> rsa.RSAPrivateKey:
    """A cached RSA key; `slot` lets callers get several distinct keys of one size."""
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


@functools.cache
def ec_key(curve: str = "secp256r1", slot: int = 0) -> ec.EllipticCurvePrivateKey:
    """A cached EC key."""
    curves: dict[str, ec.EllipticCurve] = {
        "secp256r1": ec.SECP256R1(),
        "secp384r1": ec.SECP384R1(),
        "secp192r1": ec.SECP192R1(),
    }
    return ec.generate_private_key(curves[curve])


@dataclass(frozen=True)
class Issued:
    """A certificate together with its private key (for issuing further certificates)."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str, org: str = "", country: str = "FR") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _ca_extensions(
    builder: x509.CertificateBuilder, key: PrivateKey, issuer: Issued | None, path_len: int | None
) -> x509.CertificateBuilder:
    builder = builder.add_extension(
        x509.BasicConstraints(ca=True, path_length=path_len), critical=True
    )
    builder = builder.add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
    )
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
    )
    aki_source = issuer.key.public_key() if issuer else key.public_key()
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_source), critical=False
    )


def make_root(
    cn: str = "ChamberSign France CA3 Root",
    org: str = "ChamberSign France",
    *,
    key: PrivateKey | None = None,
    not_before: dt.datetime = dt.datetime(2018, 12, 4, tzinfo=dt.UTC),
    not_after: dt.datetime = dt.datetime(2038, 12, 4, tzinfo=dt.UTC),
) -> Issued:
    """A self-signed root CA."""
    key = key or rsa_key(2048, slot=900)
    name = _name(cn, org)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(next(_serials))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    builder = _ca_extensions(builder, key, None, None)
    return Issued(builder.sign(key, hashes.SHA256()), key)


def make_intermediate(
    issuer: Issued,
    cn: str = "ChamberSign France CA3 NG RGS",
    org: str = "ChamberSign France",
    *,
    key: PrivateKey | None = None,
    not_before: dt.datetime = dt.datetime(2019, 10, 30, tzinfo=dt.UTC),
    not_after: dt.datetime = dt.datetime(2029, 10, 30, tzinfo=dt.UTC),
) -> Issued:
    """An intermediate CA issued by `issuer`."""
    key = key or rsa_key(2048, slot=901)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, org))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(next(_serials))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    builder = _ca_extensions(builder, key, issuer, 0)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def agent_subject(
    prenom: str,
    nom: str,
    *,
    siret: str = "",
    org: str = "",
    title: str = "",
    city: str = "",
    email: str = "",
    cn: str | None = None,
    org_identifier: str = "",
) -> x509.Name:
    """A subject shaped like the real ones: CN=Prénom NOM, T=…, OU=0002 <SIRET>, O=…, L=…, C=FR."""
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]
    if city:
        attrs.append(x509.NameAttribute(NameOID.LOCALITY_NAME, city))
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if siret:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"0002 {siret}"))
    if org_identifier:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org_identifier))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.SURNAME, nom))
    attrs.append(x509.NameAttribute(NameOID.GIVEN_NAME, prenom))
    attrs.append(
        x509.NameAttribute(NameOID.COMMON_NAME, cn if cn is not None else f"{prenom} {nom}")
    )
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def make_leaf(
    issuer: Issued,
    subject: x509.Name,
    *,
    key: PrivateKey | None = None,
    not_before: dt.datetime = EPOCH - dt.timedelta(days=30),
    not_after: dt.datetime | None = None,
    days: int = 3 * 365,
    san_email: str = "",
    key_usage: tuple[str, ...] = ("digital_signature", "content_commitment"),
    eku: tuple[ObjectIdentifier, ...] | None = (
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ),
    ca: bool | None = False,
    aki: bool = True,
    policies: tuple[str, ...] = (TEST_POLICY_OID,),
    crl_url: str = "",
    signature_hash: hashes.HashAlgorithm | None = None,
    serial: int | None = None,
) -> Issued:
    """An agent's end-entity certificate issued by `issuer`."""
    key = key or rsa_key(2048, slot=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else next(_serials))
        .not_valid_before(not_before)
        .not_valid_after(not_after or (not_before + dt.timedelta(days=days)))
    )
    # Extensions in a fixed order: the same arguments always give the same certificate layout.
    extensions = [
        *_usage_extensions(ca, key_usage, eku, san_email),
        *_link_extensions(issuer, key, aki, policies, crl_url),
    ]
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    algorithm = signature_hash if signature_hash is not None else hashes.SHA256()
    # Any hash is accepted here so that tests can show cryptography refusing SHA-1 at runtime.
    return Issued(builder.sign(issuer.key, algorithm), key)  # type: ignore[arg-type]


_Extension = tuple[x509.ExtensionType, bool]
"""An extension and its criticality."""


def _usage_extensions(
    ca: bool | None,
    key_usage: tuple[str, ...],
    eku: tuple[ObjectIdentifier, ...] | None,
    san_email: str,
) -> list[_Extension]:
    """What the certificate is for: basic constraints, key usage, extended key usage, SAN."""
    found: list[_Extension] = []
    if ca is not None:
        found.append((x509.BasicConstraints(ca=ca, path_length=None), True))
    if key_usage:
        bits = {name: name in key_usage for name in KEY_USAGE_BITS}
        found.append((x509.KeyUsage(**bits, encipher_only=False, decipher_only=False), True))
    if eku:
        found.append((x509.ExtendedKeyUsage(list(eku)), False))
    if san_email:
        found.append((x509.SubjectAlternativeName([x509.RFC822Name(san_email)]), False))
    return found


def _link_extensions(
    issuer: Issued, key: PrivateKey, aki: bool, policies: tuple[str, ...], crl_url: str
) -> list[_Extension]:
    """How the certificate links to its issuer: key identifiers, policies, CRL location."""
    found: list[_Extension] = []
    if aki:
        found.append(
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
        )
    found.append((x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    if policies:
        found.append(
            (
                x509.CertificatePolicies(
                    [x509.PolicyInformation(ObjectIdentifier(oid), None) for oid in policies]
                ),
                False,
            )
        )
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        found.append((x509.CRLDistributionPoints([point]), False))
    return found


def make_crl(
    issuer: Issued,
    revoked: list[tuple[int, dt.datetime]],
    *,
    last_update: dt.datetime = EPOCH - dt.timedelta(days=1),
    next_update: dt.datetime = EPOCH + dt.timedelta(days=30),
) -> x509.CertificateRevocationList:
    """A CRL signed by `issuer` listing (serial, revocation date) pairs."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(last_update)
        .next_update(next_update)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(issuer.key, hashes.SHA256())


@dataclass(frozen=True)
class SamplePKI:
    """Two issuers named like the real ones: ChamberSign and Certigna, root + RGS intermediate."""

    chambersign_root: Issued
    chambersign_ca: Issued
    certigna_root: Issued
    certigna_ca: Issued

    def trust_pem(self) -> bytes:
        """A trust bundle: both roots (anchors) and both intermediates."""
        return b"".join(
            i.pem
            for i in (
                self.chambersign_root,
                self.chambersign_ca,
                self.certigna_root,
                self.certigna_ca,
            )
        )


@functools.cache
def sample_pki() -> SamplePKI:
    """The shared test PKI (cached per process)."""
    cs_root = make_root("ChamberSign France CA3 Root", "ChamberSign France", key=rsa_key(2048, 900))
    cs_ca = make_intermediate(
        cs_root, "ChamberSign France CA3 NG RGS", "ChamberSign France", key=rsa_key(2048, 901)
    )
    cg_root = make_root(
        "Certigna Root CA",
        "Dhimyotis",
        key=ec_key("secp384r1", 902),
        not_before=dt.datetime(2013, 10, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2033, 10, 1, tzinfo=dt.UTC),
    )
    cg_ca = make_intermediate(
        cg_root,
        "Certigna Identity CA",
        "Dhimyotis",
        key=ec_key("secp256r1", 903),
        not_before=dt.datetime(2015, 11, 25, tzinfo=dt.UTC),
        not_after=dt.datetime(2032, 11, 25, tzinfo=dt.UTC),
    )
    return SamplePKI(cs_root, cs_ca, cg_root, cg_ca)
