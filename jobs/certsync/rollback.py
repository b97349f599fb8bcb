"""Put back the certificates a run replaced, from the state's audit, with read-back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from certsync.connectors.interface import (
    Account,
    AmbiguousWrite,
    Connector,
    Rejected,
    Unavailable,
)
from certsync.connectors.pem import der_of_text, sha256_hex, to_pem
from certsync.errors import UsageError
from certsync.state import Action, AuditEntry, StateStore, StoredCert


class RollbackStatus(StrEnum):
    """What happened to one account."""

    RESTORED = "restored"
    WOULD_RESTORE = "would_restore"
    ALREADY_RESTORED = "already_restored"
    CHANGED_SINCE = "changed_since"
    CANNOT_EMPTY = "cannot_empty"
    OLD_CERTIFICATE_UNKNOWN = "old_certificate_unknown"
    ACCOUNT_NOT_FOUND = "account_not_found"
    OTHER_PLATFORM = "other_platform"
    FAILED = "failed"
    VERIFY_FAILED = "verify_failed"


@dataclass(frozen=True, slots=True)
class RollbackOutcome:
    """One account's outcome."""

    email: str
    account_id: str
    from_sha256: str
    """The certificate the run put on the account."""
    to_sha256: str | None
    """The certificate it replaced, to put back; None when the account was empty."""
    status: RollbackStatus
    message: str
    """French, for the administrator."""


def rollback(
    store: StateStore,
    connector: Connector,
    run_id: str,
    *,
    rollback_run_id: str,
    now: datetime,
    dry_run: bool = False,
) -> list[RollbackOutcome]:
    """Restore, account by account, the certificate each account had before `run_id`.

    An account whose certificate changed since the run is left alone: the rollback undoes that
    run only, never a later change.
    """
    if store.run(run_id) is None:
        raise UsageError(
            f"Exécution inconnue : {run_id}.",
            hint="La commande « certsync history » liste les exécutions et leurs identifiants.",
        )
    pushes = _net_changes(store.audit_for_run(run_id))
    if not pushes:
        return []
    accounts = (
        connector.list_accounts() if any(p.platform == connector.name for p in pushes) else {}
    )
    return [
        _restore(
            store, connector, accounts.get(p.email_key), p, run_id, rollback_run_id, now, dry_run
        )
        for p in pushes
    ]


def _net_changes(entries: list[AuditEntry]) -> list[AuditEntry]:
    # Should a run have written an account twice, undo to the first "before" from the last "after".
    merged: dict[tuple[str, str], AuditEntry] = {}
    for e in entries:
        if e.action is not Action.PUSH:
            continue
        first = merged.get((e.platform, e.email_key))
        key = (e.platform, e.email_key)
        merged[key] = replace(e, old_sha256=first.old_sha256) if first else e
    return list(merged.values())


def _restore(
    store: StateStore,
    connector: Connector,
    account: Account | None,
    push: AuditEntry,
    run_id: str,
    rollback_run_id: str,
    now: datetime,
    dry_run: bool,
) -> RollbackOutcome:
    def outcome(status: RollbackStatus, message: str) -> RollbackOutcome:
        return RollbackOutcome(
            push.email, push.account_id, push.new_sha256, push.old_sha256, status, message
        )

    if push.platform != connector.name:
        return outcome(
            RollbackStatus.OTHER_PLATFORM,
            f"Ce dépôt a été fait sur la plateforme « {push.platform} » ; relancez le retour "
            "arrière avec cette plateforme.",
        )
    if push.old_sha256 is None:
        return outcome(
            RollbackStatus.CANNOT_EMPTY,
            f"Le compte n'avait pas de certificat avant l'exécution {run_id} ; la plateforme ne "
            "permet pas de vider ce champ. Retirez le certificat à la main sur la plateforme si "
            "nécessaire.",
        )
    old_der = store.certificate_der(push.old_sha256)
    if old_der is None:
        return outcome(
            RollbackStatus.OLD_CERTIFICATE_UNKNOWN,
            "L'ancien certificat n'est pas conservé dans le fichier d'état ; il ne peut pas être "
            "remis.",
        )
    if account is None:
        return outcome(
            RollbackStatus.ACCOUNT_NOT_FOUND,
            f"Le compte « {push.email} » n'existe plus sur la plateforme.",
        )
    try:
        current = der_of_text(connector.read_certificate(account))
    except Unavailable as exc:
        return outcome(RollbackStatus.FAILED, f"La plateforme n'a pas répondu ({exc.reason}).")
    current_sha = sha256_hex(current) if current else None
    if current_sha == push.old_sha256:
        if _pending(store, push, connector.name):
            # A rollback killed or timed out after its write landed: confirm and record it now.
            _record(store, push, account, connector.name, old_der, rollback_run_id, now)
            return outcome(
                RollbackStatus.RESTORED, "Ancien certificat remis (confirmé à la relecture)."
            )
        return outcome(RollbackStatus.ALREADY_RESTORED, "Le compte porte déjà l'ancien certificat.")
    if current_sha != push.new_sha256:
        return outcome(
            RollbackStatus.CHANGED_SINCE,
            "Le certificat du compte a changé depuis cette exécution "
            f"({_short(current_sha)}) ; il n'est pas modifié.",
        )
    if dry_run:
        return outcome(
            RollbackStatus.WOULD_RESTORE,
            f"L'ancien certificat ({_short(push.old_sha256)}) serait remis.",
        )
    store.mark_in_flight(
        run_id=rollback_run_id,
        platform=connector.name,
        email=push.email,
        account_id=account.id,
        new_sha256=push.old_sha256,
        at=now,
    )
    try:
        connector.write_certificate(account, to_pem(old_der))
        written = der_of_text(connector.read_certificate(account))
    except Rejected as exc:
        store.clear_in_flight(push.email, connector.name)
        return outcome(RollbackStatus.FAILED, f"La plateforme a refusé : « {exc.message} ».")
    except Unavailable as exc:
        # The pending mark stays when the write may have landed: the next rollback reads back.
        if not isinstance(exc, AmbiguousWrite):
            store.clear_in_flight(push.email, connector.name)
        return outcome(
            RollbackStatus.FAILED, f"La plateforme n'a pas répondu ({exc.reason}) ; relancez."
        )
    written_sha = sha256_hex(written) if written else None
    if written_sha != push.old_sha256:
        store.clear_in_flight(push.email, connector.name)
        return outcome(
            RollbackStatus.VERIFY_FAILED,
            f"Après écriture, le compte contient un autre certificat ({_short(written_sha)}) ; "
            "vérifiez-le sur la plateforme.",
        )
    _record(store, push, account, connector.name, old_der, rollback_run_id, now)
    return outcome(
        RollbackStatus.RESTORED, f"Ancien certificat ({_short(push.old_sha256)}) remis et vérifié."
    )


def _pending(store: StateStore, push: AuditEntry, platform: str) -> bool:
    return any(
        p.email_key == push.email_key and p.new_sha256 == push.old_sha256
        for p in store.in_flight(platform)
    )


def _record(
    store: StateStore,
    push: AuditEntry,
    account: Account,
    platform: str,
    old_der: bytes,
    rollback_run_id: str,
    now: datetime,
) -> None:
    store.record_write(
        run_id=rollback_run_id,
        platform=platform,
        account_id=account.id,
        email=push.email,
        cert=StoredCert.from_der(old_der),
        old_der=store.certificate_der(push.new_sha256),
        at=now,
        action=Action.ROLLBACK,
    )


def _short(sha256: str | None) -> str:
    return f"empreinte SHA-256 {sha256[:16]}…" if sha256 else "aucun certificat lisible"
