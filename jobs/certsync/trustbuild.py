"""The trust store built from what the authorities publish (.cer, .crt, .p7b; PEM or DER, any
text encoding): authorities only, de-duplicated, then read back as a run reads it."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from certsync.certfiles.sniff import sniff
from certsync.errors import CertsyncError, InputError
from certsync.frenchfmt import fr_date
from certsync.outputs import reason
from certsync.trust import common_name, load_trust

_SHA256 = hashes.SHA256()

#: Published authority files are small; anything larger is not one.
MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Refusal:
    """A file, or a certificate in a file, left out of the store, and why (French)."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """The store built: its PEM text, what it holds, what was left out and the check's notes."""

    pem: str
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    refused: tuple[Refusal, ...]
    warnings: tuple[str, ...]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _read(path: Path) -> tuple[list[x509.Certificate], list[Refusal]]:
    where = str(path)
    try:
        if not path.is_file():
            return [], [Refusal(where, "fichier introuvable ou n'est pas un fichier")]
        if path.stat().st_size > MAX_BYTES:
            return [], [Refusal(where, "fichier trop gros pour un certificat d'autorité")]
        data = path.read_bytes()
    except OSError as exc:
        return [], [Refusal(where, f"fichier illisible ({reason(exc)})")]
    found = sniff(data)
    if found.private_key:
        return [], [Refusal(where, f"contient une {found.private_key} : fichier écarté")]
    if found.error is not None:
        return [], [Refusal(where, found.error[1])]
    certs, refused = [], []
    for der in found.ders:
        try:
            cert = x509.load_der_x509_certificate(der)
            name = common_name(cert.subject)
        except ValueError as exc:
            refused.append(Refusal(where, f"certificat illisible ({exc})"))
            continue
        if not _is_ca(cert):
            refused.append(
                Refusal(where, f"« {name} » n'est pas un certificat d'autorité (celui d'une "
                        "personne ou d'un serveur) : il n'a pas sa place dans le magasin")
            )  # fmt: skip
            continue
        certs.append(cert)
    return certs, refused


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # any failure means "not its own issuer"
        return False
    return True


def _block(cert: x509.Certificate, role: str) -> str:
    der = cert.public_bytes(Encoding.DER)
    head = (
        f"# {role} : {common_name(cert.subject)}\n"
        f"#   émise par : {common_name(cert.issuer)}\n"
        f"#   valide du {fr_date(cert.not_valid_before_utc)} au "
        f"{fr_date(cert.not_valid_after_utc)}\n"
        f"#   SHA-256 : {hashlib.sha256(der).hexdigest()}\n"
    )
    return head + cert.public_bytes(Encoding.PEM).decode("ascii")


def build(paths: list[Path], *, now: dt.datetime) -> Bundle:
    """Read every file, keep the distinct CA certificates, roots first; check the result."""
    seen: dict[bytes, x509.Certificate] = {}
    refused: list[Refusal] = []
    for path in paths:
        certs, left_out = _read(path)
        refused.extend(left_out)
        for cert in certs:
            seen.setdefault(cert.fingerprint(_SHA256), cert)
    roots = tuple(c for c in seen.values() if _self_signed(c))
    intermediates = tuple(c for c in seen.values() if not _self_signed(c))
    if not roots:
        raise InputError(
            "Aucune autorité racine (certificat auto-signé) dans les fichiers donnés : le "
            "magasin serait inutilisable.",
            hint="Ajoutez le certificat racine de chaque autorité (par exemple « ChamberSign "
            "France CA3 Root », « Certigna Root CA »), téléchargé sur le site de l'autorité."
            + _refusals_hint(refused),
        )
    text = "".join(
        [_block(c, "Autorité racine") for c in roots]
        + [_block(c, "Autorité intermédiaire") for c in intermediates]
    )
    return Bundle(
        text, roots, intermediates, tuple(refused), _check(text, roots, intermediates, now)
    )


def _refusals_hint(refused: list[Refusal]) -> str:
    return "".join(f"\n  {r.source} : {r.reason}" for r in refused)


def _check(
    text: str,
    roots: tuple[x509.Certificate, ...],
    intermediates: tuple[x509.Certificate, ...],
    now: dt.datetime,
) -> tuple[str, ...]:
    """Read the store back as `certsync run --trust` does, and say what could go wrong."""
    with tempfile.TemporaryDirectory(prefix="certsync-trust-") as folder:
        path = Path(folder) / "autorites.pem"
        path.write_text(text, encoding="utf-8")
        try:
            store = load_trust(path)
        except CertsyncError as exc:  # pragma: no cover - what build() wrote must read back
            raise InputError(f"Le magasin construit ne se relit pas : {exc.message}") from exc
    assert len(store.anchors) == len(roots) and len(store.intermediates) == len(intermediates)
    warnings = []
    names = {c.subject for c in (*roots, *intermediates)}
    for cert in intermediates:
        if cert.issuer not in names:
            warnings.append(
                f"L'autorité intermédiaire « {common_name(cert.subject)} » est émise par "
                f"« {common_name(cert.issuer)} », absente du magasin : les certificats qu'elle "
                "émet seront refusés tant que cette racine n'est pas ajoutée."
            )
    for cert in (*roots, *intermediates):
        if cert.not_valid_after_utc < now:
            warnings.append(
                f"« {common_name(cert.subject)} » a expiré le "
                f"{fr_date(cert.not_valid_after_utc)} : les certificats qu'elle a émis le sont "
                "aussi."
            )
    return tuple(warnings)
