"""Wiring the push engine and the state into a run: plan, record in-flight, write, audit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import cast

from certsync.config import Config
from certsync.connectors import make_connector
from certsync.connectors.interface import AccountListing, Connector, Unavailable
from certsync.connectors.pem import der_of_text, sha256_hex
from certsync.errors import CertsyncError, ExitCode, UsageError
from certsync.findings import Code, Finding, finding
from certsync.ingest import Checked, load_der
from certsync.meter import Meter, WatchedConnector
from certsync.plan import selection_step, step_of
from certsync.push.engine import push
from certsync.push.records import (
    Intent,
    Plan,
    PlanEntry,
    PushItem,
    PushOutcome,
    PushRun,
    Selection,
)
from certsync.records import AgentResult, AgentStatus, CertFile, Step
from certsync.state import AccountRecord, InFlight, StateStore, StoredCert
from certsync.state import Action as AuditAction

log = logging.getLogger("certsync.push")


class StatePusher:
    """Pushes the decided agents through one connector and records every write in the state."""

    def __init__(
        self,
        config: Config,
        *,
        certs_root: Path,
        connector: Connector,
        store: StateStore | None,
        run_id: str,
        dry_run: bool,
        create_missing: bool,
        as_of: dt.datetime,
        clock: Callable[[], dt.datetime],
        selection: Selection | None = None,
    ) -> None:
        self.config = config
        self.selection = selection or Selection()
        self.certs_root = certs_root
        self.connector = connector
        self.store = store
        self.run_id = run_id
        self.dry_run = dry_run
        self.create_missing = create_missing
        self.as_of = as_of
        self.clock = clock
        self.platform = config.platform.name
        self._previous: dict[int, AccountRecord | None] = {}
        self.stop_error: CertsyncError | None = None
        """The error that stopped the pushes early (state file full, credentials lost…)."""
        self._planned: dict[int, PlanEntry] = {}
        """The engine's plan by roster row, kept for the report."""
        self.meter: Meter | None = None
        """Where progress goes (the run's own display), else a display of its own."""
        self._files: dict[int, str | None] = {}

    def __call__(
        self, agents: list[AgentResult], checked: Sequence[Checked]
    ) -> tuple[list[AgentResult], int | None]:
        """Push the rows due for a push; return every row with its outcome, and the exit code."""
        todo = [a for a in agents if a.status is AgentStatus.WOULD_PUSH and a.sha256 and a.file]
        self._check_selection(agents)
        items, vanished = self._items(todo, {c.file.path: c.file for c in checked})
        by_row = {i.row: i for i in items}
        # What each account held according to the state, before this run changes it.
        known = (
            {r.email_key: r for r in self.store.accounts(self.platform)}
            if self.store is not None
            else {}
        )
        self._previous = {a.agent.row: known.get(a.agent.email_key) for a in todo}
        self._files = {a.agent.row: a.file for a in todo}
        live = self.store is not None and not self.dry_run
        run = self._push(items, live)
        outcomes = {o.row: o for o in run.outcomes}
        outcomes.update(vanished)
        merged = [self._merge(a, outcomes.get(a.agent.row)) for a in agents]
        if live and run.error is None:  # after a state error, nothing optional is written
            for outcome in run.outcomes:
                if outcome.status is AgentStatus.UNCHANGED:
                    self._note_unchanged(by_row[outcome.row], outcome)
        self.stop_error = run.error
        if run.error is not None:
            return merged, int(run.error.exit_code)
        return merged, int(ExitCode.PLATFORM_UNAVAILABLE) if run.breaker_open else None

    def _push(self, items: list[PushItem], live: bool) -> PushRun:
        """The engine's push, its writes journalled in the state when live, progress shown."""
        journal = StateJournal(self.store, self.run_id, self.platform, self.clock, self._files)
        with nullcontext(self.meter) if self.meter else Meter() as meter:
            # Progress is watched from outside the engine: the connector's calls are counted.
            watched = WatchedConnector(self.connector, meter)
            connector = cast(Connector, watched)
            meter.start("accounts", "Lecture des comptes", len(items))

            def on_plan(plan: Plan) -> None:
                self._planned = {e.item.row: e for e in plan.entries}
                meter.finish("accounts")
                watched.planned = True
                if not self.dry_run:
                    writes = len(self.selection.pick(plan.entries))
                    meter.start("push", "Dépôt", writes)
                    meter.start("readback", "Relecture", writes)

            return push(
                items,
                connector,
                self.config.platform,
                create_missing=self.create_missing,
                dry_run=self.dry_run,
                journal=journal if live else None,
                selection=self.selection,
                settle=journal.settle_factory(connector) if live else None,
                on_plan=on_plan,
            )

    def _check_selection(self, agents: list[AgentResult]) -> None:
        """--only names agents of the roster: a typo must not silently push nobody."""
        if self.selection.only is None:
            return
        listed = {a.agent.email_key for a in agents}
        unknown = sorted(self.selection.only - listed)
        if unknown:
            raise UsageError(
                "--only : adresse(s) absente(s) de la liste des agents : " + ", ".join(unknown),
                hint="Donnez les e-mails tels qu'ils figurent dans la liste, séparés par des "
                "virgules ; rien n'a été déposé.",
            )

    def _der(self, path: str, sha256: str, read: CertFile | None) -> bytes | None:
        """A certificate's DER: from the state's file cache, else from its file again."""
        if self.store is not None and read is not None:
            cached = self.store.get_cached(
                path, read.size, read.mtime_ns, folder=str(self.certs_root.resolve())
            )
            if cached is not None and cached.cert is not None and cached.cert.sha256 == sha256:
                return cached.cert.der
        return load_der(self.certs_root, path, sha256, self.config.limits)

    def _items(
        self, todo: list[AgentResult], files: dict[str, CertFile]
    ) -> tuple[list[PushItem], dict[int, PushOutcome]]:
        """The certificates to push (ingest keeps no DER bytes in memory)."""
        items: list[PushItem] = []
        vanished: dict[int, PushOutcome] = {}
        ders: dict[tuple[str, str], bytes | None] = {}
        for a in todo:
            key = (a.file or "", a.sha256 or "")
            if key not in ders:
                ders[key] = self._der(key[0], key[1], files.get(key[0]))
            der = ders[key]
            if der is None:
                vanished[a.agent.row] = PushOutcome(
                    a.agent.row,
                    AgentStatus.FAILED,
                    (
                        finding(
                            Code.FILE_UNREADABLE,
                            row=a.agent.row,
                            file=a.file,
                            reason="le fichier a changé pendant le traitement ; relancez",
                        ),
                    ),
                )
            else:
                items.append(PushItem(a.agent.row, a.agent, key[1], der))
        return items, vanished

    def _merge(self, result: AgentResult, outcome: PushOutcome | None) -> AgentResult:
        if outcome is None:
            return result
        findings: list[Finding] = [*result.findings, *outcome.findings]
        renewed = self._renewed(result, outcome)
        if renewed is not None:
            findings.append(renewed)
        entry = self._planned.get(result.agent.row)
        step = step_of(entry) if entry is not None else None
        if step is not None:
            step = selection_step(step, {str(f.code) for f in outcome.findings})
        status = outcome.status
        if step is not None and step.step is Step.NO_ACCOUNT and status is AgentStatus.FAILED:
            # Nothing was attempted: the account does not exist and --create-missing was not
            # given. "Échec du dépôt" would send the administrator looking for a platform fault.
            status = AgentStatus.NO_ACCOUNT
        return replace(result, status=status, findings=tuple(findings), plan=step)

    def _renewed(self, result: AgentResult, outcome: PushOutcome) -> Finding | None:
        """CERT_RENEWED when the new certificate replaces one that was expiring or expired."""
        if outcome.status not in (AgentStatus.PUSHED, AgentStatus.WOULD_PUSH):
            return None
        previous = self._previous.get(result.agent.row)
        if previous is None or previous.sha256 == result.sha256:
            return None
        window = dt.timedelta(days=self.config.policy.expires_soon_days)
        if previous.not_after - self.as_of > window:
            return None
        return finding(
            Code.CERT_RENEWED,
            row=result.agent.row,
            file=result.file,
            old_not_after=f"{previous.not_after:%d/%m/%Y}",
        )

    def _note_unchanged(self, item: PushItem, outcome: PushOutcome) -> None:
        """An account found already holding the certificate: remembered, not audited."""
        assert self.store is not None
        known = self.store.account(item.agent.email, self.platform)
        if known is not None and known.sha256 == item.sha256:
            return
        self.store.note_account(
            run_id=self.run_id,
            platform=self.platform,
            account_id=outcome.account_id or "",
            email=item.agent.email,
            cert=StoredCert.from_der(item.der),
            at=self.clock(),
            prenom=item.agent.prenom,
            nom=item.agent.nom,
            organisation=item.agent.organisation,
        )


class StateJournal:
    """The push engine's journal in the state file: pending writes first, then the audit."""

    def __init__(
        self,
        store: StateStore | None,
        run_id: str,
        platform: str,
        clock: Callable[[], dt.datetime],
        files: Mapping[int, str | None] | None = None,
        action: AuditAction = AuditAction.PUSH,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.platform = platform
        self.clock = clock
        self.files = files or {}
        """Roster row → the file its certificate came from (for the audit)."""
        self.action = action
        """How the writes are audited: a push, or a rollback's restore."""

    def _store(self) -> StateStore:
        assert self.store is not None
        return self.store

    def intend(self, intent: Intent) -> None:
        """Durably record the write and the certificate it replaces, before it is sent."""
        self._store().intend_write(
            run_id=self.run_id,
            platform=self.platform,
            email=intent.item.agent.email,
            account_id=intent.account_id,
            old_der=intent.old_der,
            new_sha256=intent.item.sha256,
            at=self.clock(),
            action=self.action,
        )

    def confirm(self, intent: Intent, account_id: str) -> None:
        """The audit line (which also clears the pending write)."""
        agent = intent.item.agent
        self._store().record_write(
            run_id=self.run_id,
            platform=self.platform,
            account_id=account_id,
            email=agent.email,
            cert=StoredCert.from_der(intent.item.der),
            old_der=intent.old_der,
            at=self.clock(),
            action=self.action,
            prenom=agent.prenom,
            nom=agent.nom,
            organisation=agent.organisation,
            source_file=self.files.get(intent.item.row),
        )

    def drop(self, intent: Intent) -> None:
        """The write did not land."""
        self._store().clear_in_flight(intent.item.agent.email, self.platform)

    def settle_factory(self, connector: Connector) -> Callable[[AccountListing], dict[str, str]]:
        """settle() for push(): reads the accounts earlier runs left pending."""
        return lambda listing: self.settle(connector, listing)

    def settle(self, connector: Connector, listing: AccountListing) -> dict[str, str]:
        """Settle the writes killed runs left pending; return those that could not be settled.

        A pending write found on its account is audited under the run that sent it, with the
        certificate it replaced as recorded before sending; otherwise it never landed.
        """
        store = self._store()
        unsettled: dict[str, str] = {}
        for pending in store.in_flight(self.platform):
            account = listing.accounts.get(pending.email_key)
            if account is None:
                if not listing.complete:
                    unsettled[pending.email_key] = _unsettled(pending, "compte absent de la liste")
                else:
                    store.clear_in_flight(pending.email, self.platform)
                continue
            try:
                seen = connector.read_account(account)
            except Unavailable as exc:
                unsettled[pending.email_key] = _unsettled(pending, exc.reason)
                continue
            der = der_of_text(seen.certificate)
            if der is None or sha256_hex(der) != pending.new_sha256:
                log.info("write of run %s to %s never landed", pending.run_id, pending.email)
                store.clear_in_flight(pending.email, self.platform)
                continue
            self._record_earlier(pending, account.id, der)
        return unsettled

    def _record_earlier(self, pending: InFlight, account_id: str, der: bytes) -> None:
        store = self._store()
        old_der = None
        if pending.old_sha256 is not None:
            old_der = store.certificate_der(pending.old_sha256)
        if not pending.old_known:
            log.warning(
                "write of run %s to %s landed; the version that marked it did not record the "
                "certificate it replaced",
                pending.run_id,
                pending.email,
            )
        log.info("write of run %s to %s landed: audited now", pending.run_id, pending.email)
        store.record_write(
            run_id=pending.run_id,
            platform=self.platform,
            account_id=account_id,
            email=pending.email,
            cert=StoredCert.from_der(der),
            old_der=old_der,
            at=pending.started_at,
            action=pending.action,
        )


def _unsettled(pending: InFlight, why: str) -> str:
    return (
        f"le dépôt envoyé par l'exécution {pending.run_id} n'a pas encore pu être vérifié "
        f"({why}) ; rien n'est réécrit avant"
    )


def make_pusher(
    config: Config,
    *,
    certs_root: Path,
    url: str,
    store: StateStore | None,
    run_id: str,
    dry_run: bool,
    create_missing: bool,
    as_of: dt.datetime,
    clock: Callable[[], dt.datetime],
    selection: Selection | None = None,
) -> StatePusher:
    """A pusher for the configured platform at `url`."""
    connector = make_connector(config.platform, url=url)
    return StatePusher(
        config,
        certs_root=certs_root,
        connector=connector,
        store=store,
        run_id=run_id,
        dry_run=dry_run,
        create_missing=create_missing,
        as_of=as_of,
        clock=clock,
        selection=selection,
    )
