"""Put back the certificates a run replaced, from the state's audit, with read-back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from certsync.connectors.interface import (
    Account,
    AccountSnapshot,
    Connector,
    Rejected,
    Unavailable,
)
from certsync.connectors.pem import der_of_text, sha256_hex, to_pem
from certsync.errors import PlatformUnavailable, UsageError
from certsync.push.readback import Landing, write_verified
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
    ACCOUNT_DISABLED = "account_disabled"
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
    run only, never a later change. Writes a killed run left unconfirmed are settled first
    (read back, audited if they landed), so that they are undone too.
    """
    if store.run(run_id) is None:
        raise UsageError(
            f"Exécution inconnue : {run_id}.",
            hint="La commande « certsync history » liste les exécutions et leurs identifiants.",
        )
    mine = any(p.platform == connector.name for p in store.in_flight()) or any(
        e.platform == connector.name for e in store.audit_for_run(run_id)
    )
    if not mine:
        return [_restore_elsewhere(p) for p in _net_changes(store.audit_for_run(run_id))]
    try:
        listing = connector.listing()
    except Unavailable as exc:
        raise PlatformUnavailable(
            f"La plateforme n'a pas répondu en listant les comptes ({exc.reason}) ; rien n'a été "
            "remis.",
            hint="Relancez le retour arrière plus tard.",
        ) from exc
    if not dry_run:
        from certsync.push.recorded import StateJournal

        journal = StateJournal(store, rollback_run_id, connector.name, lambda: now)
        journal.settle(connector, listing)
    pushes = _net_changes(store.audit_for_run(run_id))
    halted: list[str] = []
    return [
        _restore(
            _Context(store, connector, run_id, rollback_run_id, now, dry_run, halted),
            listing.accounts.get(p.email_key),
            p,
        )
        for p in pushes
    ]


@dataclass(frozen=True, slots=True)
class _Context:
    store: StateStore
    connector: Connector
    run_id: str
    rollback_run_id: str
    now: datetime
    dry_run: bool
    halted: list[str]
    """Set when a write changed another field: no further write to this platform."""


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


def _outcome(push: AuditEntry, status: RollbackStatus, message: str) -> RollbackOutcome:
    return RollbackOutcome(
        push.email, push.account_id, push.new_sha256, push.old_sha256, status, message
    )


def _restore_elsewhere(push: AuditEntry) -> RollbackOutcome:
    return _outcome(
        push,
        RollbackStatus.OTHER_PLATFORM,
        f"Ce dépôt a été fait sur la plateforme « {push.platform} » ; relancez le retour "
        "arrière avec cette plateforme.",
    )


def _restore(ctx: _Context, account: Account | None, push: AuditEntry) -> RollbackOutcome:
    store, connector = ctx.store, ctx.connector

    def outcome(status: RollbackStatus, message: str) -> RollbackOutcome:
        return _outcome(push, status, message)

    if push.platform != connector.name:
        return _restore_elsewhere(push)
    if push.old_sha256 is None:
        return outcome(
            RollbackStatus.CANNOT_EMPTY,
            f"Le compte n'avait pas de certificat avant l'exécution {ctx.run_id} ; la plateforme "
            "ne permet pas de vider ce champ. Retirez le certificat à la main sur la plateforme "
            "si nécessaire.",
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
    if not account.active:
        return outcome(
            RollbackStatus.ACCOUNT_DISABLED,
            "Le compte est désactivé sur la plateforme : certsync n'y écrit pas. Faites-le "
            "réactiver puis relancez le retour arrière.",
        )
    try:
        before = connector.read_account(account)
    except Unavailable as exc:
        return outcome(RollbackStatus.FAILED, f"La plateforme n'a pas répondu ({exc.reason}).")
    current = der_of_text(before.certificate)
    current_sha = sha256_hex(current) if current else None
    if current_sha == push.old_sha256:
        return outcome(RollbackStatus.ALREADY_RESTORED, "Le compte porte déjà l'ancien certificat.")
    if current_sha != push.new_sha256:
        return outcome(
            RollbackStatus.CHANGED_SINCE,
            "Le certificat du compte a changé depuis cette exécution "
            f"({_short(current_sha)}) ; il n'est pas modifié.",
        )
    if ctx.dry_run:
        return outcome(
            RollbackStatus.WOULD_RESTORE,
            f"L'ancien certificat ({_short(push.old_sha256)}) serait remis.",
        )
    if ctx.halted:
        return outcome(RollbackStatus.FAILED, f"Non modifié : {ctx.halted[0]}")
    return _write_back(ctx, account, push, before, old_der, current)


def _write_back(
    ctx: _Context,
    account: Account,
    push: AuditEntry,
    before: AccountSnapshot,
    old_der: bytes,
    current: bytes | None,
) -> RollbackOutcome:
    """The write, through the push's own write and read-back path, recorded before it is sent."""
    store, connector = ctx.store, ctx.connector
    assert push.old_sha256 is not None
    store.intend_write(
        run_id=ctx.rollback_run_id,
        platform=connector.name,
        email=push.email,
        account_id=account.id,
        old_der=current,
        new_sha256=push.old_sha256,
        at=ctx.now,
        action=Action.ROLLBACK,
    )
    try:
        verified = write_verified(connector, account, before, to_pem(old_der), push.old_sha256, 1)
    except Rejected as exc:
        store.clear_in_flight(push.email, connector.name)
        return _outcome(push, RollbackStatus.FAILED, f"La plateforme a refusé : « {exc.message} ».")
    except Unavailable as exc:
        store.clear_in_flight(push.email, connector.name)
        return _outcome(
            push, RollbackStatus.FAILED, f"La plateforme n'a pas répondu ({exc.reason}) ; relancez."
        )
    if verified.landing is Landing.UNKNOWN:
        # The pending mark stays: the next rollback (or run) reads the account back first.
        return _outcome(
            push,
            RollbackStatus.FAILED,
            f"Issue inconnue : l'ancien certificat a été envoyé mais le compte n'a pas pu être "
            f"relu ({verified.reason}) ; relancez le retour arrière, il relira le compte.",
        )
    if verified.landing is Landing.LANDED:
        _record(store, push, account, connector.name, old_der, ctx.rollback_run_id, ctx.now)
    else:
        store.clear_in_flight(push.email, connector.name)
    if verified.changed:
        ctx.halted.append(
            "un retour arrière précédent a modifié un autre champ d'un compte ; plus aucune "
            "écriture sur cette plateforme pendant ce retour arrière."
        )
        return _outcome(
            push,
            RollbackStatus.VERIFY_FAILED,
            f"Après écriture, {verified.changes_text()} ; vérifiez le compte sur la plateforme.",
        )
    if verified.landing is Landing.NOT_LANDED:
        return _outcome(
            push,
            RollbackStatus.VERIFY_FAILED,
            "Après écriture, le compte contient un autre certificat "
            f"({_short(verified.found_sha256)}) ; vérifiez-le sur la plateforme.",
        )
    return _outcome(
        push,
        RollbackStatus.RESTORED,
        f"Ancien certificat ({_short(push.old_sha256)}) remis et vérifié.",
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
