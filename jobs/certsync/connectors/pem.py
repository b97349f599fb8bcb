"""Certificate text as the platforms want it, and fingerprints of whatever text they hold."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

#: The socle's validator (app.properties `certificate-regexp`), applied with a full match as
#: Tapestry's Regexp validator does (`matcher.matches()`).
SOCLE_CERTIFICATE_RE = re.compile(
    r"-{5}(BEGIN CERTIFICATE)-{5}([A-Za-z0-9+\/=\n\r]+)-{5}(END CERTIFICATE)-{5}"
)

_PEM_BODY = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def to_pem(der: bytes) -> str:
    """One certificate as PEM with 64-column lines and no trailing newline.

    This is exactly what the socle's regex accepts (a trailing newline is refused), and what
    openssl on S²LOW and Pastell parse.
    """
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----"


def sha256_hex(der: bytes) -> str:
    """Lowercase hex SHA-256 of DER bytes."""
    return hashlib.sha256(der).hexdigest()


def der_of_text(text: str | None) -> bytes | None:
    """DER of the first certificate in stored text, or None when it is empty or garbage.

    Stored values are compared by certificate, never by text: the platforms keep what was
    pasted, with CR/LF, other line widths or surrounding blanks.
    """
    if not text or not text.strip():
        return None
    try:
        cert = x509.load_pem_x509_certificate(text.strip().encode("ascii", "replace"))
        return cert.public_bytes(Encoding.DER)
    except ValueError:
        pass
    match = _PEM_BODY.search(text)
    if match is None:
        return None
    try:
        der = base64.b64decode(re.sub(r"\s+", "", match.group(1)), validate=True)
        return x509.load_der_x509_certificate(der).public_bytes(Encoding.DER)
    except (ValueError, binascii.Error):
        return None


def sha256_of_text(text: str | None) -> str | None:
    """SHA-256 of the certificate held in stored text, or None (empty or unreadable)."""
    der = der_of_text(text)
    return sha256_hex(der) if der is not None else None
