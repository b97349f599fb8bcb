"""Find what a certificate file holds from its bytes alone, whatever its name says."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from certsync.certfiles import der, pem
from certsync.findings import Code
from certsync.records import FileFormat

#: Concatenated DER elements walked in one file before giving up (crafted-input guard).
_MAX_ELEMENTS = 64

_KEY_LINE = re.compile(rb"-----BEGIN ([^-\r\n]{0,40}PRIVATE KEY)-----")

_KIND_REASONS = {
    der.Kind.CSR: "demande de certificat (CSR) et non certificat",
    der.Kind.CRL: "liste de révocation (CRL) et non certificat",
    der.Kind.PUBLIC_KEY: "clé publique seule, sans certificat",
    der.Kind.OCSP: "réponse OCSP et non certificat",
    der.Kind.PKCS7_OTHER: "message PKCS#7 chiffré ou sans certificat",
    der.Kind.UNKNOWN: "structure binaire non reconnue",
}

_MAGIC = (
    (b"\x89PNG", "image PNG"),
    (b"\xff\xd8\xff", "image JPEG"),
    (b"GIF8", "image GIF"),
    (b"BM", "image BMP"),
    (b"II*\x00", "image TIFF"),
    (b"MM\x00*", "image TIFF"),
    (b"%PDF", "document PDF"),
    (b"PK\x03\x04", "archive ZIP ou document Office (.docx, .xlsx…)"),
    (b"\xd0\xcf\x11\xe0", "document Office ancien format (.doc, .xls, .msg…)"),
    (b"{\\rtf", "document RTF"),
    (b"Rar!", "archive RAR"),
    (b"7z\xbc\xaf", "archive 7-Zip"),
    (b"\x1f\x8b", "archive gzip"),
)


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the bytes of one file turned out to hold."""

    format: FileFormat
    """Container when there is one (PKCS#7, PKCS#12, private key), else the encoding."""
    ders: tuple[bytes, ...] = ()
    """DER of every certificate found, in file order (empty when a private key was seen)."""
    private_key: str = ""
    """French description of the private key material found, or empty."""
    notes: tuple[str, ...] = ()
    """Developer notes on what was tolerated: `utf-8-bom`, `utf-16le`, `trailing-bytes:2`, `ber`."""
    error: tuple[Code, str] | None = None
    """Why no certificate could be taken from the file: finding code and French reason."""


@dataclass(slots=True)
class _Found:
    """Mutable accumulator while walking one file."""

    ders: list[bytes] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    key: str = ""
    pkcs7: bool = False


def sniff(data: bytes) -> Sniffed:
    """Classify file content and extract certificate DERs; never raises on any input."""
    if not data:
        return _fail(Code.FILE_UNREADABLE, "fichier vide")
    if data[0] == der.SEQUENCE:
        sniffed = _binary(data, FileFormat.DER, ())
        # "0" is also the DER SEQUENCE tag: text that starts with a digit and holds a PEM block
        # must still go to the text path when DER found nothing.
        if sniffed is not None and (sniffed.ders or sniffed.private_key or not pem.has_pem(data)):
            return sniffed
    try:
        text, encoding = pem.to_text(data)
    except UnicodeDecodeError:
        return _fail(Code.FILE_NOT_A_CERTIFICATE, "texte UTF-16 illisible")
    notes = (encoding,) if encoding else ()
    if not text.strip():
        return _fail(Code.FILE_UNREADABLE, "fichier vide (seulement des espaces)")
    if b"PRIVATE KEY" in text and (line := _KEY_LINE.search(text)) is not None:
        encrypted = b"ENCRYPTED" in line.group(1) or b"Proc-Type: 4,ENCRYPTED" in text
        kind = "clé privée PEM chiffrée" if encrypted else "clé privée PEM"
        return Sniffed(FileFormat.PRIVATE_KEY, private_key=kind, notes=notes)
    if text.startswith(b"PuTTY-User-Key-File"):
        return Sniffed(FileFormat.PRIVATE_KEY, private_key="clé privée PuTTY (.ppk)", notes=notes)
    if pem.has_pem(text):
        fmt = FileFormat.PEM_UTF16 if encoding.startswith("utf-16") else FileFormat.PEM
        return _from_pem(text, fmt, notes)
    decoded = pem.headerless(text)
    if decoded is not None:
        sniffed = _binary(decoded, FileFormat.BASE64, (*notes, "base64"))
        if sniffed is not None:
            return sniffed
        return _fail(Code.FILE_NOT_A_CERTIFICATE, "texte base64 qui ne contient pas de certificat")
    return _fail(Code.FILE_NOT_A_CERTIFICATE, _describe(data, text))


def _fail(code: Code, reason: str, notes: tuple[str, ...] = ()) -> Sniffed:
    return Sniffed(FileFormat.UNKNOWN, notes=notes, error=(code, reason))


def _binary(data: bytes, fmt: FileFormat, notes: tuple[str, ...]) -> Sniffed | None:
    """Sniffed result for DER (or BER) content; None when it does not even start like DER."""
    if not data or data[0] != der.SEQUENCE:
        return None
    found = _Found(notes=list(notes))
    try:
        der.element_length(data)
    except der.TruncatedError:
        # A short header ("0" then a digit) is more likely text than a cut certificate.
        if len(data) > 1 and data[1] & 0x80:
            return _fail(Code.FILE_UNREADABLE, "fichier tronqué (certificat incomplet)", notes)
        return None
    except ValueError:
        return None
    _walk(data, found)
    return _result(found, fmt)


def _walk(data: bytes, found: _Found) -> None:
    """Classify every DER element laid end to end in data (one, usually)."""
    cursor = 0
    for _ in range(_MAX_ELEMENTS):
        rest = data[cursor:]
        if not rest:
            return
        if rest[0] != der.SEQUENCE:
            found.notes.append(f"trailing-bytes:{len(rest)}")
            return
        try:
            size = der.element_length(rest)
        except ValueError:
            found.notes.append(f"trailing-bytes:{len(rest)}")
            return
        _element(rest[:size], found)
        cursor += size
    found.notes.append(f"trailing-bytes:{len(data) - cursor}")


def _element(element: bytes, found: _Found) -> None:
    kind = der.classify(element)
    if kind is der.Kind.CERTIFICATE:
        found.ders.append(element)
    elif kind is der.Kind.PKCS7:
        _pkcs7(element, found)
    elif kind is der.Kind.PKCS12:
        found.key = found.key or "conteneur PKCS#12 (.pfx ou .p12)"
    elif kind is der.Kind.PRIVATE_KEY:
        found.key = found.key or "clé privée au format binaire"
    elif kind is der.Kind.ENCRYPTED_PRIVATE_KEY:
        found.key = found.key or "clé privée chiffrée au format binaire"
    else:
        found.reasons.append(_KIND_REASONS[kind])


def _pkcs7(element: bytes, found: _Found) -> None:
    found.pkcs7 = True
    if element[1] == 0x80:
        found.notes.append("ber")
    try:
        # cryptography warns before falling back to BER; the note above records it instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            certs = pkcs7.load_der_pkcs7_certificates(element)
        ders = [c.public_bytes(Encoding.DER) for c in certs]
    except Exception:  # Any failure inside the Rust parser means "unreadable".
        found.reasons.append("fichier PKCS#7 illisible")
        return
    if not ders:
        found.reasons.append("fichier PKCS#7 sans certificat")
    found.ders.extend(ders)


def _from_pem(text: bytes, fmt: FileFormat, notes: tuple[str, ...]) -> Sniffed:
    found = _Found(notes=list(notes))
    blocks = pem.blocks(text)
    if not blocks:
        return _fail(
            Code.FILE_NOT_A_CERTIFICATE, "bloc PEM incomplet (ligne « -----END » manquante)", notes
        )
    for block in blocks:
        if not block.valid:
            found.reasons.append(f"bloc PEM « {block.label} » mal encodé")
            continue
        if block.der[0] != der.SEQUENCE:
            found.reasons.append(f"bloc PEM « {block.label} » sans structure reconnue")
            continue
        try:
            size = der.element_length(block.der)
        except ValueError:
            found.reasons.append(f"bloc PEM « {block.label} » tronqué")
            continue
        if block.label == "TRUSTED CERTIFICATE":
            # OpenSSL appends its trust settings after the certificate: cut, not garbage.
            _element(block.der[:size], found)
        else:
            _walk(block.der, found)
    return _result(found, fmt)


def _result(found: _Found, fmt: FileFormat) -> Sniffed:
    notes = tuple(found.notes)
    if found.key:
        container = FileFormat.PKCS12 if "PKCS#12" in found.key else FileFormat.PRIVATE_KEY
        return Sniffed(container, private_key=found.key, notes=notes)
    if found.pkcs7:
        fmt = FileFormat.PKCS7
    if found.ders:
        return Sniffed(fmt, ders=tuple(found.ders), notes=notes)
    reason = found.reasons[0] if found.reasons else "aucun certificat trouvé"
    return Sniffed(fmt, notes=notes, error=(Code.FILE_NOT_A_CERTIFICATE, reason))


def _describe(data: bytes, text: bytes) -> str:
    """A French guess at what a non-certificate file is, for the administrator."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    head = text[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "page HTML"
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "document XML ou HTML"
    if head.startswith((b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-")):
        return "clé publique SSH"
    if b"\x00" in data[:512]:
        return "contenu binaire non reconnu"
    return "texte qui ne contient pas de certificat"
