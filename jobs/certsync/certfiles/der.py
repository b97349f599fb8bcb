"""A few byte-level ASN.1 readings that tell DER structures apart without parsing them."""

from __future__ import annotations

from enum import StrEnum

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
BIT_STRING = 0x03
OID = 0x06
ENUMERATED = 0x0A
CONTEXT_0 = 0xA0
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18

# Encoded OID values (without tag and length) that identify containers.
_PKCS7_DATA = bytes.fromhex("2a864886f70d010701")
_PKCS7_SIGNED = bytes.fromhex("2a864886f70d010702")
_PKCS7_PREFIX = bytes.fromhex("2a864886f70d0107")
# PKCS#5 (1.2.840.113549.1.5.*) and PKCS#12 PBE (1.2.840.113549.1.12.1.*): encrypted PKCS#8.
_PBE_PREFIXES = (bytes.fromhex("2a864886f70d0105"), bytes.fromhex("2a864886f70d010c01"))

#: Nesting depth allowed when walking BER indefinite lengths (guards against crafted input).
_MAX_DEPTH = 32


class Kind(StrEnum):
    """What a DER element looks like, from its first few headers."""

    CERTIFICATE = "certificate"
    PKCS7 = "pkcs7"
    PKCS7_OTHER = "pkcs7-other"
    PKCS12 = "pkcs12"
    PRIVATE_KEY = "private-key"
    ENCRYPTED_PRIVATE_KEY = "encrypted-private-key"
    CSR = "csr"
    CRL = "crl"
    PUBLIC_KEY = "public-key"
    OCSP = "ocsp"
    UNKNOWN = "unknown"


def header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, content length or -1 for BER indefinite) of the element at pos.

    Raises IndexError or ValueError when the header is cut short or implausible.
    """
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("high tag number")
    first = data[pos + 1]
    if first < 0x80:
        return tag, pos + 2, first
    count = first & 0x7F
    if count == 0:
        if not tag & 0x20:
            raise ValueError("indefinite length on a primitive element")
        return tag, pos + 2, -1
    if count > 4:
        raise ValueError("length too long")
    raw = data[pos + 2 : pos + 2 + count]
    if len(raw) != count:
        raise IndexError("cut short")
    return tag, pos + 2 + count, int.from_bytes(raw, "big")


def end(data: bytes, pos: int, depth: int = 0) -> int:
    """Offset just past the element at pos, following BER indefinite lengths."""
    if depth > _MAX_DEPTH:
        raise ValueError("nested too deep")
    _tag, start, length = header(data, pos)
    if length >= 0:
        return start + length
    cursor = start
    while True:
        if data[cursor] == 0 and data[cursor + 1] == 0:
            return cursor + 2
        cursor = end(data, cursor, depth + 1)


class TruncatedError(ValueError):
    """The element's header is sound but the data stops before its end."""


def element_length(data: bytes) -> int:
    """Length of the first element of data.

    Raises TruncatedError if data is too short for it, ValueError if the header is implausible.
    """
    try:
        size = end(data, 0)
    except IndexError as exc:
        raise TruncatedError("truncated") from exc
    if size > len(data):
        raise TruncatedError("truncated")
    return size


def issuer_bytes(cert: bytes) -> bytes | None:
    """The encoded issuer Name of a certificate, or None when the layout is not the usual one.

    Certificate = SEQUENCE { tbs SEQUENCE { [0] version OPTIONAL, serial INTEGER,
    signature SEQUENCE, issuer SEQUENCE, … }, … }. Meant for DER that cryptography accepted.
    """
    try:
        _tag, pos, _length = header(cert, 0)
        tag, pos, length = header(cert, pos)
        if tag != SEQUENCE or length < 0:
            return None
        tag, start, length = header(cert, pos)
        if tag == CONTEXT_0 and length >= 0:
            pos = start + length
            tag, start, length = header(cert, pos)
        for expected in (INTEGER, SEQUENCE):  # serial, signature algorithm
            if tag != expected or length < 0:
                return None
            pos = start + length
            tag, start, length = header(cert, pos)
    except (IndexError, ValueError):
        return None
    if tag != SEQUENCE or length < 0 or start + length > len(cert):
        return None
    return cert[pos : start + length]


Child = tuple[int, int, int, int]
"""(tag, offset of the header, offset of the content, content length or -1)."""


def _children(data: bytes, pos: int, limit: int) -> list[Child]:
    """Headers of up to `limit` children of the constructed element at pos."""
    _tag, cursor, length = header(data, pos)
    stop = len(data) if length < 0 else min(len(data), cursor + length)
    found: list[Child] = []
    while cursor < stop and len(found) < limit:
        tag, start, size = header(data, cursor)
        if tag == 0 and size == 0:
            break
        found.append((tag, cursor, start, size))
        if size < 0:
            break  # An indefinite child: deeper walking is not needed to classify.
        cursor = start + size
    return found


def _small_int(data: bytes, child: Child) -> int | None:
    tag, _offset, start, size = child
    if tag != INTEGER or not 0 < size <= 2:
        return None
    return int.from_bytes(data[start : start + size], "big")


def _oid_at(data: bytes, pos: int) -> bytes:
    tag, start, size = header(data, pos)
    return data[start : start + size] if tag == OID and size >= 0 else b""


def classify(data: bytes) -> Kind:
    """Guess what the DER (or BER) element at the start of data is; never raises."""
    try:
        return _classify(data)
    except (IndexError, ValueError):
        return Kind.UNKNOWN


def _classify(data: bytes) -> Kind:
    if not data or data[0] != SEQUENCE:
        return Kind.UNKNOWN
    kids = _children(data, 0, 4)
    if not kids:
        return Kind.UNKNOWN
    tags = [k[0] for k in kids]
    first = kids[0]
    if first[0] == OID:
        oid = data[first[2] : first[2] + first[3]]
        if oid == _PKCS7_SIGNED:
            return Kind.PKCS7
        return Kind.PKCS7_OTHER if oid.startswith(_PKCS7_PREFIX) else Kind.UNKNOWN
    if first[0] == ENUMERATED:
        return Kind.OCSP
    if first[0] == INTEGER:
        return _classify_versioned(data, kids, tags)
    if first[0] == SEQUENCE:
        return _classify_signed(data, kids, tags)
    return Kind.UNKNOWN


def _classify_versioned(data: bytes, kids: list[Child], tags: list[int]) -> Kind:
    """Structures whose first child is an INTEGER: PFX, private keys."""
    version = _small_int(data, kids[0])
    if version == 3 and len(kids) >= 2 and tags[1] == SEQUENCE:
        inner = _oid_at(data, kids[1][2])
        if inner in (_PKCS7_DATA, _PKCS7_SIGNED):
            return Kind.PKCS12
    if version in (0, 1) and tags[1:3] == [SEQUENCE, OCTET_STRING]:
        return Kind.PRIVATE_KEY  # PKCS#8 PrivateKeyInfo / OneAsymmetricKey
    if version == 1 and len(tags) >= 2 and tags[1] == OCTET_STRING:
        return Kind.PRIVATE_KEY  # SEC 1 ECPrivateKey
    if version == 0 and len(tags) >= 4 and tags[1:4] == [INTEGER, INTEGER, INTEGER]:
        return Kind.PRIVATE_KEY  # PKCS#1 RSAPrivateKey or OpenSSL DSA key
    return Kind.UNKNOWN


def _classify_signed(data: bytes, kids: list[Child], tags: list[int]) -> Kind:
    """Structures whose first child is a SEQUENCE: signed objects, SPKI, encrypted PKCS#8."""
    if tags[1:2] == [OCTET_STRING] and _oid_at(data, kids[0][2]).startswith(_PBE_PREFIXES):
        return Kind.ENCRYPTED_PRIVATE_KEY
    if tags[1:2] == [BIT_STRING] and len(tags) == 2:
        return Kind.PUBLIC_KEY
    if tags[1:3] != [SEQUENCE, BIT_STRING]:
        return Kind.UNKNOWN
    tbs = _children(data, kids[0][1], 5)
    inner = [k[0] for k in tbs]
    if inner[:1] == [CONTEXT_0]:
        return Kind.CERTIFICATE
    if inner[:4] == [INTEGER, SEQUENCE, SEQUENCE, CONTEXT_0] and _small_int(data, tbs[0]) == 0:
        return Kind.CSR
    times = (UTC_TIME, GENERALIZED_TIME)
    if (len(inner) > 2 and inner[2] in times) or (len(inner) > 3 and inner[3] in times):
        return Kind.CRL
    if inner[:4] == [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE]:
        return Kind.CERTIFICATE  # version 1 certificate: serial, algorithm, issuer, validity
    return Kind.UNKNOWN
