"""The trust store: accepted certification authorities read from one PEM bundle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from certsync.errors import ConfigError
from certsync.french import plural
from certsync.fsutil import read_regular

_HINT = (
    "Le magasin de confiance doit être un fichier PEM contenant les certificats des autorités "
    "acceptées (blocs « -----BEGIN CERTIFICATE----- »)."
)


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Certification authorities accepted for agents' certificates."""

    anchors: tuple[x509.Certificate, ...]
    """Self-signed certificates: the roots a chain must end at."""
    intermediates: tuple[x509.Certificate, ...]
    """Other CA certificates, offered to chain building but not trusted on their own."""
    source: Path
    """The PEM bundle they were read from."""

    def describe(self) -> list[str]:
        """One French line per anchor (subject and expiry), for the run summary."""
        lines = [
            f"Autorité racine « {common_name(cert.subject)} » "
            f"(expire le {cert.not_valid_after_utc:%d/%m/%Y})"
            for cert in self.anchors
        ]
        if self.intermediates:
            count = plural(
                len(self.intermediates), "autorité intermédiaire", "autorités intermédiaires"
            )
            lines.append(f"{count} en plus")
        return lines


def common_name(name: x509.Name) -> str:
    """The first CN of a name, or its RFC 4514 form when it has none."""
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if attrs:
        value = attrs[0].value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return name.rfc4514_string()


def _self_signed(cert: x509.Certificate) -> bool:
    # Subject == issuer alone is "self-issued"; a renewed root re-keyed under the same name
    # would pass that test, so the signature must verify with the certificate's own key.
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_trust(path: Path) -> TrustStore:
    """Read a PEM bundle; self-signed certificates become anchors, the others intermediates."""
    try:
        data = read_regular(path)
    except OSError as exc:
        raise ConfigError(
            f"Magasin de confiance illisible : {path} ({exc.strerror or exc}).",
            hint="Vérifiez le chemin donné à --trust (ou « trust » dans la configuration).",
        ) from exc
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ConfigError(
            f"Magasin de confiance sans certificat PEM : {path}.",
            hint=_HINT,
        )
    try:
        certs = x509.load_pem_x509_certificates(data)
        # cryptography parses lazily: touch the names now so a broken CA fails here, not later.
        for cert in certs:
            cert.subject.rfc4514_string()
            cert.issuer.rfc4514_string()
    except ValueError as exc:
        raise ConfigError(
            f"Magasin de confiance invalide : {path} (certificat illisible : {exc}).",
            hint=_HINT,
        ) from exc
    roots = [_self_signed(c) for c in certs]
    anchors = tuple(c for c, root in zip(certs, roots, strict=True) if root)
    intermediates = tuple(c for c, root in zip(certs, roots, strict=True) if not root)
    if not anchors:
        raise ConfigError(
            f"Magasin de confiance sans autorité racine : {path}.",
            hint="Ajoutez le certificat racine (auto-signé) de chaque autorité acceptée.",
        )
    return TrustStore(anchors, intermediates, path)
