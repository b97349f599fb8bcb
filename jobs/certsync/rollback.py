"""Put back the certificates a run replaced, from the state's audit, through the push engine."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from certsync.config import PlatformConfig
from certsync.connectors.interface import AccountListing, Connector, Unavailable
from certsync.errors import PlatformUnavailable, UsageError
from certsync.findings import Code, Finding
from certsync.push.planning import plan
from certsync.push.recorded import StateJournal
from certsync.push.records import Plan, PlanAction, PlanEntry, PushItem, PushOutcome, PushRun
from certsync.push.writing import apply
from certsync.records import Agent, AgentStatus
from certsync.state import Action as AuditAction
from certsync.state import AuditEntry, StateStore


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
    config: PlatformConfig | None = None,
) -> list[RollbackOutcome]:
    """Restore, account by account, the certificate each account had before `run_id`.

    An account whose certificate changed since the run is left alone: the rollback undoes that
    run only, never a later change. Writes a killed run left unconfirmed are settled first
    (read back, audited if they landed), so that they are undone too. The restores go through
    the push engine (in-flight mark, write, read-back, audit), one account at a time.
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
    listing = _listing(connector)
    journal = StateJournal(
        store, rollback_run_id, connector.name, lambda: now, action=AuditAction.ROLLBACK
    )
    if not dry_run:
        journal.settle(connector, listing)
    # One account at a time, as an administrator would undo them.
    engine = replace(config or PlatformConfig(name=connector.name), workers=1)
    restorer = _Restorer(store, connector, run_id, dry_run, engine)
    return restorer.restore(_net_changes(store.audit_for_run(run_id)), listing, journal)


def _listing(connector: Connector) -> AccountListing:
    try:
        return connector.listing()
    except Unavailable as exc:
        raise PlatformUnavailable(
            f"La plateforme n'a pas répondu en listant les comptes ({exc.reason}) ; rien n'a été "
            "remis.",
            hint="Relancez le retour arrière plus tard.",
        ) from exc


@dataclass(frozen=True, slots=True)
class _Restorer:
    store: StateStore
    connector: Connector
    run_id: str
    dry_run: bool
    config: PlatformConfig
    """The engine's settings (one worker)."""

    def restore(
        self, pushes: list[AuditEntry], listing: AccountListing, journal: StateJournal
    ) -> list[RollbackOutcome]:
        """Rules without the platform, the engine's plan, rules on what it read, then writes."""
        outcomes: dict[int, RollbackOutcome] = {}
        items: list[PushItem] = []
        for index, push in enumerate(pushes):
            ready = self._restorable(push)
            if isinstance(ready, RollbackOutcome):
                outcomes[index] = ready
            else:
                agent = Agent(index, push.email, "", "")
                assert push.old_sha256 is not None
                items.append(PushItem(index, agent, push.old_sha256, ready))
        the_plan = plan(
            items,
            self.connector,
            workers=1,
            breaker_threshold=self.config.breaker_threshold,
            listing=listing,
        )
        if the_plan.error is not None:
            raise the_plan.error
        writes: list[PlanEntry] = []
        for entry in the_plan.entries:
            ruled = _after_reading(entry, pushes[entry.item.row], self.dry_run)
            if ruled is None:
                writes.append(entry)
            else:
                outcomes[entry.item.row] = ruled
        if writes:
            # A platform that stopped answering while being read is not written (as in a push).
            run = apply(
                Plan(tuple(writes), breaker_open=the_plan.breaker_open),
                self.connector,
                self.config,
                create_missing=False,
                journal=journal,
            )
            for entry, out in zip(writes, run.outcomes, strict=True):
                outcomes[entry.item.row] = _written(pushes[entry.item.row], out, run)
        return [outcomes[i] for i in range(len(pushes))]

    def _restorable(self, push: AuditEntry) -> RollbackOutcome | bytes:
        """The certificate to put back, or why it cannot be (without asking the platform)."""
        if push.platform != self.connector.name:
            return _restore_elsewhere(push)
        if push.old_sha256 is None:
            return _outcome(
                push,
                RollbackStatus.CANNOT_EMPTY,
                f"Le compte n'avait pas de certificat avant l'exécution {self.run_id} ; la "
                "plateforme ne permet pas de vider ce champ. Retirez le certificat à la main sur "
                "la plateforme si nécessaire.",
            )
        old_der = self.store.certificate_der(push.old_sha256)
        if old_der is None:
            return _outcome(
                push,
                RollbackStatus.OLD_CERTIFICATE_UNKNOWN,
                "L'ancien certificat n'est pas conservé dans le fichier d'état ; il ne peut pas "
                "être remis.",
            )
        return old_der


def _after_reading(entry: PlanEntry, push: AuditEntry, dry_run: bool) -> RollbackOutcome | None:
    """What the engine's read of the account decides; None: the old certificate is written."""
    match entry.action:
        case PlanAction.MISSING | PlanAction.INCOMPLETE:
            return _outcome(
                push,
                RollbackStatus.ACCOUNT_NOT_FOUND,
                f"Le compte « {push.email} » n'existe plus sur la plateforme.",
            )
        case PlanAction.AMBIGUOUS:
            return _outcome(
                push,
                RollbackStatus.FAILED,
                f"Plusieurs comptes actifs ont l'adresse « {push.email} » ({entry.reason}) ; "
                "aucun n'est modifié.",
            )
        case PlanAction.DISABLED:
            return _outcome(
                push,
                RollbackStatus.ACCOUNT_DISABLED,
                "Le compte est désactivé sur la plateforme : certsync n'y écrit pas. Faites-le "
                "réactiver puis relancez le retour arrière.",
            )
        case PlanAction.REJECTED:
            return _outcome(push, RollbackStatus.FAILED, _refused(entry.reason))
        case PlanAction.UNCHANGED:
            return _outcome(
                push, RollbackStatus.ALREADY_RESTORED, "Le compte porte déjà l'ancien certificat."
            )
        case PlanAction.WRITE:
            return _changed_since(entry, push, dry_run)
        case _:
            return _outcome(
                push, RollbackStatus.FAILED, f"La plateforme n'a pas répondu ({entry.reason})."
            )


def _changed_since(entry: PlanEntry, push: AuditEntry, dry_run: bool) -> RollbackOutcome | None:
    """The account must still hold what the run put there; in a dry run, say what would be."""
    if entry.old_sha256 != push.new_sha256:
        return _outcome(
            push,
            RollbackStatus.CHANGED_SINCE,
            "Le certificat du compte a changé depuis cette exécution "
            f"({_short(entry.old_sha256)}) ; il n'est pas modifié.",
        )
    if dry_run:
        return _outcome(
            push,
            RollbackStatus.WOULD_RESTORE,
            f"L'ancien certificat ({_short(push.old_sha256)}) serait remis.",
        )
    return None


#: Why the writes stopped after a restore changed another field of an account.
_HALTED = (
    "un retour arrière précédent a modifié un autre champ d'un compte ; plus aucune "
    "écriture sur cette plateforme pendant ce retour arrière."
)


def _written(push: AuditEntry, out: PushOutcome, run: PushRun) -> RollbackOutcome:
    """The engine's outcome of one restore, in the rollback's words."""
    if out.status is AgentStatus.PUSHED:
        return _outcome(
            push,
            RollbackStatus.RESTORED,
            f"Ancien certificat ({_short(push.old_sha256)}) remis et vérifié.",
        )
    found = {f.code: f for f in out.findings}
    if Code.MEGALIS_VERIFY_FAILED in found:
        return _outcome(push, RollbackStatus.VERIFY_FAILED, _verify_failed(found))
    if Code.MEGALIS_OUTCOME_UNKNOWN in found:
        # The pending mark stays: the next rollback (or run) reads the account back first.
        reason = found[Code.MEGALIS_OUTCOME_UNKNOWN].params["reason"]
        return _outcome(
            push,
            RollbackStatus.FAILED,
            f"Issue inconnue : l'ancien certificat a été envoyé mais le compte n'a pas pu être "
            f"relu ({reason}) ; relancez le retour arrière, il relira le compte.",
        )
    if Code.MEGALIS_REJECTED in found:
        return _outcome(
            push,
            RollbackStatus.FAILED,
            _refused(str(found[Code.MEGALIS_REJECTED].params["message"])),
        )
    reason = str(found[Code.MEGALIS_UNAVAILABLE].params["reason"])
    if run.error is not None and reason == run.error.message:
        halted = _HALTED if _changed_a_field(run) else reason
        return _outcome(push, RollbackStatus.FAILED, f"Non modifié : {halted}")
    return _outcome(
        push, RollbackStatus.FAILED, f"La plateforme n'a pas répondu ({reason}) ; relancez."
    )


def _changed_a_field(run: PushRun) -> bool:
    """True when a restore changed another field of an account (which stops the writes)."""
    return any(
        f.code is Code.MEGALIS_VERIFY_FAILED and "found" not in f.params
        for out in run.outcomes
        for f in out.findings
    )


def _verify_failed(found: dict[Code, Finding]) -> str:
    params = found[Code.MEGALIS_VERIFY_FAILED].params
    if "found" in params:
        # The engine names the certificate read back by its SHA-256, or says there is none.
        sha = str(params["found"])
        shown = _short(sha if len(sha) == 64 else None)
        return (
            f"Après écriture, le compte contient un autre certificat ({shown}) ; vérifiez-le "
            "sur la plateforme."
        )
    return f"Après écriture, {params['problem']} ; vérifiez le compte sur la plateforme."


def _refused(message: str) -> str:
    return f"La plateforme a refusé : « {message} »."


def _net_changes(entries: list[AuditEntry]) -> list[AuditEntry]:
    # Should a run have written an account twice, undo to the first "before" from the last "after".
    merged: dict[tuple[str, str], AuditEntry] = {}
    for e in entries:
        if e.action is not AuditAction.PUSH:
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


def _short(sha256: str | None) -> str:
    return f"empreinte SHA-256 {sha256[:16]}…" if sha256 else "aucun certificat lisible"
