"""A generated zoo of certificate files as agents and Windows tools really produce them."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import cryptography_vectors
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from certsync.findings import Code
from certsync.records import FileFormat
from certsync.testkit.pki import (
    Issued,
    SamplePKI,
    agent_subject,
    make_crl,
    make_leaf,
    rsa_key,
    sample_pki,
)

VECTORS = Path(cryptography_vectors.__file__).parent

#: OpenSSL X509_CERT_AUX that follows the certificate in a TRUSTED CERTIFICATE block:
#: SEQUENCE { trust SEQUENCE { OID clientAuth } }.
TRUST_AUX = bytes.fromhex("300c300a06082b06010505070302")


@dataclass(frozen=True)
class Case:
    """One zoo file and what reading it must give."""

    data: bytes
    format: FileFormat
    code: Code | None = None
    """The expected file finding (None: a single certificate, no finding)."""
    count: int = 1
    """Certificates expected in Sniffed.ders when no error is expected."""


def leaf(pki: SamplePKI, slot: int = 0, nom: str = "MARTIN") -> Issued:
    """An agent's certificate shaped like an RGS one."""
    subject = agent_subject("Claire", nom, siret="21350238800019", org="Ville de Rennes")
    return make_leaf(pki.chambersign_ca, subject, key=rsa_key(2048, slot), san_email="c@rennes.fr")


def _b64_lines(der: bytes, width: int, eol: bytes) -> bytes:
    text = base64.b64encode(der)
    return eol.join(text[i : i + width] for i in range(0, len(text), width)) + eol


def _pem(label: bytes, der: bytes, eol: bytes = b"\n") -> bytes:
    begin = b"-----BEGIN " + label + b"-----" + eol
    return begin + _b64_lines(der, 64, eol) + b"-----END " + label + b"-----" + eol


def zoo(pki: SamplePKI) -> dict[str, Case]:
    """Every variant from the issue, keyed by a file name (extensions deliberately misleading)."""
    agent = leaf(pki)
    other = leaf(pki, slot=1, nom="DURAND")
    der, pem = agent.der, agent.pem
    ca = pki.chambersign_ca
    key = rsa_key(2048, 0)
    crlf = pem.replace(b"\n", b"\r\n")
    p7_der = pkcs7.serialize_certificates([agent.cert, ca.cert], serialization.Encoding.DER)
    p7_pem = pkcs7.serialize_certificates([agent.cert, ca.cert], serialization.Encoding.PEM)
    enc = serialization.BestAvailableEncryption(b"secret")
    none = serialization.NoEncryption()
    pkcs8 = serialization.PrivateFormat.PKCS8
    legacy = serialization.PrivateFormat.TraditionalOpenSSL
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(agent.cert.subject)
        .sign(key, hashes.SHA256())
    )
    crl = make_crl(ca, [(0x1234, agent.cert.not_valid_before_utc)])
    pem_e = serialization.Encoding.PEM
    der_e = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pk = FileFormat.PRIVATE_KEY
    bad = Code.FILE_NOT_A_CERTIFICATE
    return {
        "lf.pem": Case(pem, FileFormat.PEM),
        "crlf.cer": Case(crlf, FileFormat.PEM),
        "bom.cer": Case(b"\xef\xbb\xbf" + crlf, FileFormat.PEM),
        "text-around.txt": Case(
            b"Bag Attributes\n    friendlyName: Claire\nsubject=/CN=x\n" + pem + b"trailing junk\n",
            FileFormat.PEM,
        ),
        "no-final-newline.crt": Case(pem.rstrip(b"\n"), FileFormat.PEM),
        "x509-label.pem": Case(_pem(b"X509 CERTIFICATE", der), FileFormat.PEM),
        "trusted.pem": Case(_pem(b"TRUSTED CERTIFICATE", der + TRUST_AUX), FileFormat.PEM),
        "utf16le-bom.cer": Case(
            b"\xff\xfe" + crlf.decode().encode("utf-16-le"), FileFormat.PEM_UTF16
        ),
        "utf16be-bom.cer": Case(
            b"\xfe\xff" + crlf.decode().encode("utf-16-be"), FileFormat.PEM_UTF16
        ),
        "utf16le.cer": Case(crlf.decode().encode("utf-16-le"), FileFormat.PEM_UTF16),
        "utf16be.cer": Case(crlf.decode().encode("utf-16-be"), FileFormat.PEM_UTF16),
        "plain.der": Case(der, FileFormat.DER),
        "der-nuls.cer": Case(der + b"\x00\x00", FileFormat.DER),
        "der-crlf.cer": Case(der + b"\r\n", FileFormat.DER),
        "b64-one-line.cer": Case(base64.b64encode(der), FileFormat.BASE64),
        "b64-64col-crlf.cer": Case(_b64_lines(der, 64, b"\r\n"), FileFormat.BASE64),
        "b64-utf16.cer": Case(
            _b64_lines(der, 76, b"\r\n").decode().encode("utf-16"), FileFormat.BASE64
        ),
        "chain.p7b": Case(p7_der, FileFormat.PKCS7, Code.FILE_CHAIN_INCLUDED, 2),
        "chain-pem.p7b": Case(p7_pem, FileFormat.PKCS7, Code.FILE_CHAIN_INCLUDED, 2),
        "chain-cms.p7c": Case(
            p7_pem.replace(b"PKCS7", b"CMS"), FileFormat.PKCS7, Code.FILE_CHAIN_INCLUDED, 2
        ),
        "chain-b64.p7b": Case(
            _b64_lines(p7_der, 64, b"\r\n"), FileFormat.PKCS7, Code.FILE_CHAIN_INCLUDED, 2
        ),
        "ber.p7b": Case(
            (VECTORS / "pkcs7" / "amazon-roots.p7b").read_bytes(), FileFormat.PKCS7, None, 2
        ),
        "leaf-ca.pem": Case(pem + ca.pem, FileFormat.PEM, Code.FILE_CHAIN_INCLUDED, 2),
        "ca-leaf.pem": Case(ca.pem + crlf, FileFormat.PEM, Code.FILE_CHAIN_INCLUDED, 2),
        "full-chain.pem": Case(
            pki.chambersign_root.pem + pem + ca.pem, FileFormat.PEM, Code.FILE_CHAIN_INCLUDED, 3
        ),
        "two-leaves.pem": Case(pem + other.pem, FileFormat.PEM, Code.FILE_MULTIPLE_CERTIFICATES, 2),
        "ca-only.cer": Case(ca.der, FileFormat.DER),
        "same-twice.pem": Case(pem + pem, FileFormat.PEM, None, 2),
        "nopwd.pfx": Case(
            pkcs12.serialize_key_and_certificates(b"a", key, agent.cert, [ca.cert], none),
            FileFormat.PKCS12,
            Code.FILE_PRIVATE_KEY,
        ),
        "pwd.p12": Case(
            pkcs12.serialize_key_and_certificates(b"a", key, agent.cert, None, enc),
            FileFormat.PKCS12,
            Code.FILE_PRIVATE_KEY,
        ),
        "pfx-b64.cer": Case(
            base64.b64encode(
                pkcs12.serialize_key_and_certificates(b"a", key, agent.cert, None, enc)
            ),
            FileFormat.PKCS12,
            Code.FILE_PRIVATE_KEY,
        ),
        "cert-key.pem": Case(
            pem + key.private_bytes(pem_e, pkcs8, none), pk, Code.FILE_PRIVATE_KEY
        ),
        "key-encrypted.pem": Case(
            pem + key.private_bytes(pem_e, pkcs8, enc), pk, Code.FILE_PRIVATE_KEY
        ),
        "rsa-key-legacy-encrypted.cer": Case(
            key.private_bytes(pem_e, legacy, enc) + pem, pk, Code.FILE_PRIVATE_KEY
        ),
        "key-pkcs8.der": Case(key.private_bytes(der_e, pkcs8, none), pk, Code.FILE_PRIVATE_KEY),
        "key-pkcs1.der": Case(key.private_bytes(der_e, legacy, none), pk, Code.FILE_PRIVATE_KEY),
        "key-pkcs8-encrypted.der": Case(
            key.private_bytes(der_e, pkcs8, enc), pk, Code.FILE_PRIVATE_KEY
        ),
        "key-b64.txt": Case(
            base64.b64encode(key.private_bytes(der_e, pkcs8, none)), pk, Code.FILE_PRIVATE_KEY
        ),
        "der-then-key.cer": Case(
            der + key.private_bytes(der_e, pkcs8, none), pk, Code.FILE_PRIVATE_KEY
        ),
        "request.csr.cer": Case(csr.public_bytes(pem_e), FileFormat.PEM, bad),
        "request.der": Case(csr.public_bytes(der_e), FileFormat.DER, bad),
        "revoked.crl.cer": Case(crl.public_bytes(pem_e), FileFormat.PEM, bad),
        "revoked.crl.der": Case(crl.public_bytes(der_e), FileFormat.DER, bad),
        "pubkey.pem": Case(key.public_key().public_bytes(pem_e, spki), FileFormat.PEM, bad),
        "empty.cer": Case(b"", FileFormat.UNKNOWN, Code.FILE_UNREADABLE),
        "blank.cer": Case(b" \r\n\t\r\n", FileFormat.UNKNOWN, Code.FILE_UNREADABLE),
        "truncated.cer": Case(der[: len(der) // 2], FileFormat.UNKNOWN, Code.FILE_UNREADABLE),
        "screenshot.cer": Case(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), FileFormat.UNKNOWN, bad),
        "error-page.cer": Case(
            b"<!DOCTYPE html>\n<html><body>Session expir\xc3\xa9e</body></html>\n",
            FileFormat.UNKNOWN,
            bad,
        ),
        "random.bin": Case(bytes(range(256)) * 4, FileFormat.UNKNOWN, bad),
        "notes.txt": Case(b"Certificat de Claire : voir mail\n", FileFormat.UNKNOWN, bad),
        "unterminated.pem": Case(pem[:-30], FileFormat.UNKNOWN, bad),
    }


def names() -> list[str]:
    """The zoo's file names, for parametrising tests at collection time."""
    return sorted(zoo(sample_pki()))
