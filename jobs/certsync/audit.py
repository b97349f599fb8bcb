"""The audit trail as an administrator reads it: every change of certificate on each account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certsync.state import Action, AuditEntry, RunSummary, StateStore, StoredCert


@dataclass(frozen=True, slots=True)
class CertFacts:
    """What the state knows of one certificate: its fingerprint, and its name and expiry when
    its DER was kept (a certificate replaced before certsync ever read it has only a hash)."""

    sha256: str
    common_name: str = ""
    not_after: datetime | None = None

    def describe(self) -> str:
        """French one-liner: « NAME » valable jusqu'au DATE, SHA-256 …."""
        parts = []
        if self.common_name:
            parts.append(f"« {self.common_name} »")
        if self.not_after is not None:
            parts.append(f"valable jusqu'au {self.not_after:%d/%m/%Y}")
        parts.append(f"SHA-256 {self.sha256}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """For `--json`."""
        return {
            "sha256": self.sha256,
            "common_name": self.common_name or None,
            "not_after": self.not_after.isoformat() if self.not_after else None,
        }


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One change of certificate on one account."""

    at: datetime
    run_id: str
    action: Action
    platform: str
    email: str
    account_id: str
    source_file: str | None
    """The file the certificate came from (None for a rollback, which restores a hash)."""
    previous: CertFacts | None
    """What the account held before; None when it was empty."""
    new: CertFacts
    rolled_back_by: str | None = None
    """For a push: the rollback run that put the previous certificate back."""
    rollback_of: str | None = None
    """For a rollback: the run whose write it undid."""

    def as_dict(self) -> dict[str, Any]:
        """For `--json`."""
        return {
            "at": self.at.isoformat(),
            "run_id": self.run_id,
            "action": str(self.action),
            "platform": self.platform,
            "email": self.email,
            "account_id": self.account_id,
            "source_file": self.source_file,
            "previous": self.previous.as_dict() if self.previous else None,
            "new": self.new.as_dict(),
            "rolled_back_by": self.rolled_back_by,
            "rollback_of": self.rollback_of,
        }


class _Facts:
    """Certificate facts by hash, each DER parsed once."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.known: dict[str, CertFacts] = {}

    def __call__(self, sha256: str) -> CertFacts:
        if sha256 not in self.known:
            der = self.store.certificate_der(sha256)
            if der is None:
                self.known[sha256] = CertFacts(sha256)
            else:
                cert = StoredCert.from_der(der)
                self.known[sha256] = CertFacts(sha256, cert.common_name, cert.not_after)
        return self.known[sha256]


def _rollback_targets(store: StateStore, entries: Sequence[AuditEntry]) -> dict[str, str]:
    """Rollback run id → the run it undid (from the rollback's recorded parameters)."""
    targets: dict[str, str] = {}
    for run_id in {e.run_id for e in entries if e.action is Action.ROLLBACK}:
        summary: RunSummary | None = store.run(run_id)
        target = summary.parameters.get("target") if summary else None
        if isinstance(target, str):
            targets[run_id] = target
    return targets


def audit_trail(store: StateStore, email: str | None = None) -> list[AuditLine]:
    """Every change of certificate certsync made (on one account when `email` is given),
    oldest first, each push marked with the rollback that undid it, if any."""
    entries = store.audit_entries(email)
    undid = _rollback_targets(store, entries)
    # (run undone, platform, account) → the rollback run that undid it.
    undone = {
        (undid[e.run_id], e.platform, e.email_key): e.run_id
        for e in entries
        if e.action is Action.ROLLBACK and e.run_id in undid
    }
    facts = _Facts(store)
    return [
        AuditLine(
            at=e.at,
            run_id=e.run_id,
            action=e.action,
            platform=e.platform,
            email=e.email,
            account_id=e.account_id,
            source_file=e.source_file,
            previous=facts(e.old_sha256) if e.old_sha256 else None,
            new=facts(e.new_sha256),
            rolled_back_by=(
                undone.get((e.run_id, e.platform, e.email_key)) if e.action is Action.PUSH else None
            ),
            rollback_of=undid.get(e.run_id) if e.action is Action.ROLLBACK else None,
        )
        for e in entries
    ]


def describe(line: AuditLine) -> list[str]:
    """The French lines `certsync audit` prints for one change."""
    what = "dépôt" if line.action is Action.PUSH else "retour arrière"
    head = f"{line.at:%d/%m/%Y %H:%M} UTC  {what}  exécution {line.run_id}"
    if line.source_file:
        head += f"  fichier « {line.source_file} »"
    if line.rollback_of:
        head += f"  (annule l'exécution {line.rollback_of})"
    out = [
        head,
        "    avant : " + (line.previous.describe() if line.previous else "aucun certificat"),
        "    après : " + line.new.describe(),
    ]
    if line.rolled_back_by:
        out.append(f"    annulé par le retour arrière {line.rolled_back_by}")
    return out
