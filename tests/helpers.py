"""Builders shared by tests: agents, certificate infos and files written to a folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from certsync.certfiles.parse import cert_info
from certsync.records import Agent, CertFile, CertInfo, FileFormat
from certsync.testkit.pki import Issued, agent_subject, make_leaf, rsa_key

RENNES_SIREN = "213502388"
RENNES_SIRET = "21350238800019"
BREST_SIREN = "212900468"
BREST_SIRET = "21290046800019"


def agent(
    row: int,
    prenom: str,
    nom: str,
    email: str = "",
    *,
    siren: str = RENNES_SIREN,
    organisation: str = "Commune de Rennes",
    file_ref: str = "",
    full_name: str = "",
) -> Agent:
    """A roster row."""
    return Agent(
        row=row,
        email=email or f"{prenom}.{nom}@example.fr".lower().replace(" ", ""),
        nom=nom,
        prenom=prenom,
        full_name=full_name,
        organisation=organisation,
        siren=siren,
        file_ref=file_ref,
    )


def leaf_for(
    issuer: Issued,
    prenom: str,
    nom: str,
    *,
    siret: str = RENNES_SIRET,
    cn: str | None = None,
    email: str = "",
    san_email: str = "",
    not_before: dt.datetime | None = None,
    days: int = 3 * 365,
    slot: int = 0,
    **kw: object,
) -> Issued:
    """An agent certificate shaped like a real RGS one."""
    subject = agent_subject(
        prenom, nom, siret=siret, org="Commune", city="Rennes", cn=cn, email=email
    )
    return make_leaf(
        issuer,
        subject,
        key=rsa_key(2048, slot),
        san_email=san_email,
        not_before=not_before or dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
        days=days,
        **kw,  # type: ignore[arg-type]
    )


def info(issued: Issued) -> CertInfo:
    """The CertInfo of a generated certificate."""
    return cert_info(issued.der)


def sha(cf: CertFile) -> str:
    """SHA-256 of the certificate a file record holds."""
    assert cf.cert is not None
    return cf.cert.sha256


def certfile(path: str, issued: Issued) -> CertFile:
    """A CertFile record as the reader would produce for a PEM file."""
    return CertFile(path, 1000, 0, FileFormat.PEM, info(issued))


def write_pem(folder: Path, name: str, issued: Issued) -> Path:
    """Write a PEM certificate file."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(issued.pem)
    return path
