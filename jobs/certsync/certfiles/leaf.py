"""Pick the agent's certificate among those found in one file (leaf plus chain)."""

from __future__ import annotations

from dataclasses import dataclass

from certsync.findings import Code, Finding, finding
from certsync.records import CertInfo


@dataclass(frozen=True, slots=True)
class Choice:
    """The certificate used from a file, the others, and what to say about it."""

    cert: CertInfo | None
    """The end-entity certificate, or None when the file is ambiguous."""
    chain: tuple[CertInfo, ...]
    """The other certificates, in file order."""
    findings: tuple[Finding, ...]
    """FILE_CHAIN_INCLUDED or FILE_MULTIPLE_CERTIFICATES, attached to the file."""


def choose(infos: list[CertInfo], rel: str) -> Choice:
    """The leaf is the certificate without cA that issued no other one in the file.

    A file with only CA certificates gives its bottom-most one, which validation then flags as
    CERT_IS_CA: the administrator learns what the file really is.
    """
    unique = list({info.sha256: info for info in infos}.values())
    if len(unique) == 1:
        return Choice(unique[0], (), ())
    issuers = {info.issuer for info in unique if not info.self_issued}
    bottom = [info for info in unique if info.subject not in issuers]
    leaves = [info for info in bottom if not info.is_ca]
    if len(leaves) > 1:
        others = tuple(info for info in unique if info not in leaves)
        note = finding(Code.FILE_MULTIPLE_CERTIFICATES, file=rel, count=len(leaves))
        return Choice(None, others, (note,))
    # Without an end-entity certificate the file is a CA bundle: its first bottom-most
    # certificate stands for it (cross-signed loops leave none: take the first one).
    cert = leaves[0] if leaves else (bottom or unique)[0]
    chain = tuple(info for info in unique if info is not cert)
    if cert.is_ca:
        return Choice(cert, chain, ())
    label = cert.common_name or cert.subject
    note = finding(Code.FILE_CHAIN_INCLUDED, file=rel, count=len(chain), subject=label)
    return Choice(cert, chain, (note,))
