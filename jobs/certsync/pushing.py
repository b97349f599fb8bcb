"""Wiring the push engine and the state into a run: plan, record in-flight, write, audit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from certsync.config import Config
from certsync.connectors import make_connector
from certsync.connectors.interface import Connector
from certsync.errors import ExitCode
from certsync.findings import Code, Finding, finding
from certsync.ingest import Checked, load_der
from certsync.push import PushItem, PushOutcome, push
from certsync.records import AgentResult, AgentStatus, CertFile
from certsync.state import AccountRecord, StateStore, StoredCert

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
    ) -> None:
        self.config = config
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
        self._files: dict[int, str | None] = {}

    def __call__(
        self, agents: list[AgentResult], checked: Sequence[Checked]
    ) -> tuple[list[AgentResult], int | None]:
        todo = [a for a in agents if a.status is AgentStatus.WOULD_PUSH and a.sha256 and a.file]
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
        if self.store is not None and not self.dry_run:
            self._log_left_in_flight()
            self.store.mark_in_flight_many(
                run_id=self.run_id,
                platform=self.platform,
                writes=[(item.agent.email, "", item.sha256) for item in items],
                at=self.clock(),
            )

        def on_written(
            row: int, account_id: str, old_sha: str | None, new_sha: str, old_der: bytes | None
        ) -> None:
            if self.store is None:
                return
            if old_der is None and old_sha:
                old_der = self.store.certificate_der(old_sha)
            self._record(by_row[row], account_id, old_der)

        run = push(
            items,
            self.connector,
            self.config.platform,
            create_missing=self.create_missing,
            dry_run=self.dry_run,
            on_written=on_written,
        )
        outcomes = {o.row: o for o in run.outcomes}
        outcomes.update(vanished)
        merged = [self._merge(a, outcomes.get(a.agent.row)) for a in agents]
        if self.store is not None and not self.dry_run:
            for outcome in run.outcomes:
                if outcome.status is not AgentStatus.PUSHED:
                    self._settle(by_row[outcome.row], outcome)
        code: int | None = None
        if run.error is not None:
            code = int(run.error.exit_code)
        elif run.breaker_open:
            code = int(ExitCode.PLATFORM_UNAVAILABLE)
        return merged, code

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
        return replace(result, status=outcome.status, findings=tuple(findings))

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

    def _settle(self, item: PushItem, outcome: PushOutcome) -> None:
        """After the run: an unchanged account is recorded; anything else is no longer in flight."""
        assert self.store is not None
        if outcome.status is AgentStatus.UNCHANGED:
            known = self.store.account(item.agent.email, self.platform)
            if known is None or known.sha256 != item.sha256:
                # Already on the account (by hand, or by a run killed before its audit line).
                self._record(item, outcome.account_id or "", None)
                return
        self.store.clear_in_flight(item.agent.email, self.platform)

    def _record(self, item: PushItem, account_id: str, old_der: bytes | None) -> None:
        """One write in the state: the account's new certificate and an audit line."""
        assert self.store is not None
        self.store.record_write(
            run_id=self.run_id,
            platform=self.platform,
            account_id=account_id,
            email=item.agent.email,
            cert=StoredCert.from_der(item.der),
            old_der=old_der,
            at=self.clock(),
            prenom=item.agent.prenom,
            nom=item.agent.nom,
            organisation=item.agent.organisation,
            source_file=self._files.get(item.row),
        )

    def _log_left_in_flight(self) -> None:
        """Say which writes a killed run left unconfirmed; the plan reads those accounts anyway
        (every account is read before any write), so nothing is written twice."""
        assert self.store is not None
        for pending in self.store.in_flight(self.platform):
            log.info(
                "write left in flight by run %s for %s: the account is read before any rewrite",
                pending.run_id,
                pending.email,
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
    )
