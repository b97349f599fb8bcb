"""Turn one certificate's DER into a CertInfo, touching every lazily parsed field up front."""

from __future__ import annotations

import hashlib
import re
import warnings
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from certsync.certfiles.der import issuer_bytes
from certsync.records import CertInfo

#: The keyUsage bits a certificate may assert, as cryptography's KeyUsage names them (the two
#: encipher_only/decipher_only refinements aside).
KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)
# cryptography no longer names these; validation must still see "md5" to refuse it.
_LEGACY_HASHES = {
    "1.2.840.113549.1.1.2": "md2",
    "1.2.840.113549.1.1.3": "md4",
    "1.2.840.113549.1.1.4": "md5",
    "1.2.840.113549.2.2": "md2",
    "1.2.840.113549.2.5": "md5",
}
_PURE_SIGNATURES = (SignatureAlgorithmOID.ED25519, SignatureAlgorithmOID.ED448)
_SIRENE_PREFIX = "0002"  # ISO 6523 ICD for the French SIRENE register (SIREN/SIRET)
_ID_LENGTHS = (9, 14)
_SPACES = str.maketrans("", "", " \u00a0\u202f\t.-")


def cert_info(der: bytes) -> CertInfo:
    """Everything certsync needs from one certificate.

    Raises ValueError with a French reason when the certificate is malformed: cryptography
    parses names and extensions only when first read, so all of them are read here.
    """
    try:
        with warnings.catch_warnings():
            # Non-conformities cryptography tolerates (negative serial, …) are for validation.
            warnings.simplefilter("ignore")
            return _cert_info(der)
    except Exception as exc:  # The Rust parser raises several unrelated types.
        raise ValueError(_reason(exc)) from exc


def _cert_info(der: bytes) -> CertInfo:
    cert = x509.load_der_x509_certificate(der)
    names = _SubjectFields(cert.subject)
    subject_text = names.text
    issuer_text = _issuer_text(cert, der)
    key_type, key_size, key_curve = _key(cert)
    ext = _Extensions(cert.extensions)
    emails = list(ext.san_emails)
    emails.extend(names.emails)
    return CertInfo(
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der).hexdigest(),
        subject=subject_text,
        issuer=issuer_text,
        common_name=names.common_name,
        organisation=names.organisation,
        org_ids=_org_ids(names.units, names.identifiers),
        emails=_unique(emails),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_size=key_size,
        key_curve=key_curve,
        signature_hash=_signature_hash(cert),
        is_ca=ext.is_ca,
        self_issued=subject_text == issuer_text,
        key_usage=ext.key_usage,
        has_key_usage=ext.has_key_usage,
        extended_key_usage=ext.eku,
        has_extended_key_usage=ext.has_eku,
        policies=ext.policies,
        crl_urls=_unique(ext.crl_urls),
    )


#: RFC 4514 issuer strings by encoded issuer Name: a folder has thousands of certificates but
#: only a handful of issuers, and parsing plus formatting a Name is a third of a parse.
_ISSUERS: dict[bytes, str] = {}
#: Bound on _ISSUERS (and _ATTRIBUTE_NAMES), so that crafted certificates cannot grow them.
_MAX_ISSUERS = 256


def _issuer_text(cert: x509.Certificate, der: bytes) -> str:
    """The issuer's RFC 4514 string, from the cache when its encoding was seen before.

    The encoded Name fully determines the parsed one, so a cache hit gives exactly what
    parsing would, and a Name that fails to parse is never cached.
    """
    raw = issuer_bytes(der)
    text = _ISSUERS.get(raw) if raw is not None else None
    if text is None:
        text = cert.issuer.rfc4514_string()
        if raw is not None and len(_ISSUERS) < _MAX_ISSUERS:
            _ISSUERS[raw] = text
    return text


class _SubjectFields:
    """The subject's RFC 4514 string and the attributes certsync reads, in one pass."""

    __slots__ = ("common_name", "emails", "identifiers", "organisation", "text", "units")

    def __init__(self, subject: x509.Name) -> None:
        self.common_name = ""
        self.organisation = ""
        self.units: list[str] = []
        self.identifiers: list[str] = []
        self.emails: list[str] = []
        rdns: list[str] = []
        for rdn in subject.rdns:
            parts: list[str] = []
            for attribute in rdn:
                oid, value = attribute.oid, attribute.value
                parts.append(f"{_attribute_name(attribute)}={_escape(value)}")
                if oid == NameOID.COMMON_NAME:
                    if not self.common_name:
                        self.common_name = _text(value)
                elif oid == NameOID.ORGANIZATION_NAME:
                    if not self.organisation:
                        self.organisation = _text(value)
                elif oid == NameOID.ORGANIZATIONAL_UNIT_NAME:
                    self.units.append(_text(value))
                elif oid == NameOID.ORGANIZATION_IDENTIFIER:
                    self.identifiers.append(_text(value))
                elif oid == NameOID.EMAIL_ADDRESS:
                    self.emails.append(_text(value))
            rdns.append("+".join(parts))
        # RFC 4514 writes the RDNs last first. This equals `subject.rfc4514_string()` (a test
        # compares them) at half its cost: that one costs as much as parsing the Name.
        rdns.reverse()
        self.text = ",".join(rdns)


#: RFC 4514 attribute names by OID, filled from cryptography's own naming as OIDs are met.
_ATTRIBUTE_NAMES: dict[x509.ObjectIdentifier, str] = {}
#: Characters that `_escape` must escape anywhere in a value (NUL included).
_DN_SPECIALS = re.compile(r'[\\"+,;<>\0]')


def _attribute_name(attribute: x509.NameAttribute[Any]) -> str:
    oid = attribute.oid
    name = _ATTRIBUTE_NAMES.get(oid)
    if name is None:
        name = attribute.rfc4514_attribute_name
        if len(_ATTRIBUTE_NAMES) < _MAX_ISSUERS:  # crafted names may hold countless OIDs
            _ATTRIBUTE_NAMES[oid] = name
    return name


def _escape(value: str | bytes) -> str:
    """A value escaped as cryptography's `NameAttribute.rfc4514_string` does (RFC 4514 2.4)."""
    if not value:
        return ""
    if isinstance(value, bytes):
        return "#" + value.hex()
    if _DN_SPECIALS.search(value) is not None:
        value = value.replace("\\", "\\\\")
        for char in '"+,;<>':
            value = value.replace(char, "\\" + char)
        value = value.replace("\0", "\\00")
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


class _Extensions:
    """The extensions certsync reads, gathered in one pass over all of them."""

    __slots__ = (
        "crl_urls",
        "eku",
        "has_eku",
        "has_key_usage",
        "is_ca",
        "key_usage",
        "policies",
        "san_emails",
    )

    def __init__(self, extensions: x509.Extensions) -> None:
        self.is_ca = False
        self.key_usage: tuple[str, ...] = ()
        self.has_key_usage = False
        self.eku: tuple[str, ...] = ()
        self.has_eku = False
        self.policies: tuple[str, ...] = ()
        self.crl_urls: list[str] = []
        self.san_emails: list[str] = []
        for extension in extensions:
            # cryptography gives each known OID its own value class, so dispatching on the OID
            # picks the same extensions as isinstance() would, without ABC instance checks.
            oid = extension.oid
            value: Any = extension.value
            if oid == ExtensionOID.BASIC_CONSTRAINTS:
                self.is_ca = value.ca
            elif oid == ExtensionOID.KEY_USAGE:
                self.has_key_usage = True
                self.key_usage = _key_usage(value)
            elif oid == ExtensionOID.EXTENDED_KEY_USAGE:
                self.has_eku = True
                self.eku = tuple(usage.dotted_string for usage in value)
            elif oid == ExtensionOID.CERTIFICATE_POLICIES:
                self.policies = tuple(p.policy_identifier.dotted_string for p in value)
            elif oid == ExtensionOID.CRL_DISTRIBUTION_POINTS:
                self.crl_urls = _crl_urls(value)
            elif oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
                self.san_emails = value.get_values_for_type(x509.RFC822Name)


def _key_usage(value: x509.KeyUsage) -> tuple[str, ...]:
    bits = [name for name in KEY_USAGE_BITS if getattr(value, name)]
    # cryptography raises on encipher_only/decipher_only unless key_agreement is set.
    if value.key_agreement:
        bits.extend(name for name in ("encipher_only", "decipher_only") if getattr(value, name))
    return tuple(bits)


def _crl_urls(value: x509.CRLDistributionPoints) -> list[str]:
    urls: list[str] = []
    for point in value:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.lower().startswith(
                ("http://", "https://")
            ):
                urls.append(name.value)
    return urls


def _key(cert: x509.Certificate) -> tuple[str, int, str]:
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        # Unknown or broken key algorithm: keep the certificate, let validation judge the key.
        return cert.public_key_algorithm_oid.dotted_string, 0, ""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, ""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, ""
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 448, ""
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, ""
    if isinstance(key, x25519.X25519PublicKey):
        return "X25519", 256, ""
    if isinstance(key, x448.X448PublicKey):
        return "X448", 448, ""
    return type(key).__name__, 0, ""


def _signature_hash(cert: x509.Certificate) -> str:
    """The signature's hash name; legacy hashes by name, other unknown ones by dotted OID."""
    oid = cert.signature_algorithm_oid
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return _LEGACY_HASHES.get(oid.dotted_string, oid.dotted_string)
    if algorithm is not None:
        return algorithm.name
    # Ed25519/Ed448 sign without a separate hash; anything else (GOST…) is named by its OID.
    return "" if oid in _PURE_SIGNATURES else oid.dotted_string


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _org_ids(units: list[str], identifiers: list[str]) -> tuple[str, ...]:
    """SIREN/SIRET digits from `OU=0002 <n>` and organizationIdentifier (`NTRFR-<n>`)."""
    found: list[str] = []
    for unit in units:
        unit = unit.strip()
        if unit.startswith(_SIRENE_PREFIX):
            digits = unit[len(_SIRENE_PREFIX) :].translate(_SPACES)
            if digits.isascii() and digits.isdigit() and len(digits) in _ID_LENGTHS:
                found.append(digits)
    for ident in identifiers:
        _prefix, _sep, rest = ident.strip().partition("-")
        digits = "".join(ch for ch in rest if ch.isascii() and ch.isdigit())
        if len(digits) in _ID_LENGTHS:
            found.append(digits)
        elif _prefix.upper() == "VATFR" and len(digits) == 11:
            found.append(digits[2:])  # French VAT number: 2 check digits then the SIREN
    return _unique(found)


def _unique(values: list[str]) -> tuple[str, ...]:
    """Values without repeats (case-insensitive), first spelling and order kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return tuple(kept)


def _reason(exc: Exception) -> str:
    """A French reason for a malformed certificate, keeping cryptography's detail."""
    if isinstance(exc, x509.DuplicateExtension):
        return "certificat mal formé : extension en double"
    if isinstance(exc, x509.UnsupportedGeneralNameType):
        return "certificat mal formé : type de nom alternatif non pris en charge"
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if detail.startswith("error parsing asn1 value"):
        # The Rust parser's ParseError dump means nothing to an administrator.
        return "certificat mal formé (encodage ASN.1 invalide)"
    return f"certificat mal formé ({detail[:120]})"
