"""The Matcher: per file, the administrator's decision, the file column, then the content rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from certsync.findings import Code, Finding, finding
from certsync.match.certname import CertName, Org, cert_name, org_relation
from certsync.match.holds import attribute, conflict, emails_of, file_names_other, stored_action
from certsync.match.records import AdminDecision, Match, MatchResult, Method, Verdict, first_path
from certsync.match.roster import rows_of
from certsync.match.rules import ContentRules
from certsync.records import Agent, CertFile, CertInfo


class Matcher(ContentRules):
    """Matches files to rows with a fixed roster; build once, call `match` per run."""

    def __init__(
        self,
        agents: Sequence[Agent],
        *,
        file_refs: Mapping[int, str],
        decisions: Mapping[str, AdminDecision] | None = None,
    ) -> None:
        super().__init__(agents, file_refs=file_refs)
        self.decisions = decisions or {}

    # -- decision ------------------------------------------------------------------------------

    def _apply_admin_decision(self, path: str, info: CertInfo, result: MatchResult) -> bool:
        """Rule 1: the decisions file settles the certificate; True when it did."""
        decision = self.decisions.get(info.sha256)
        if decision is None:
            return False
        if decision.ignore:
            result.ignored.add(path)
            result.findings.append(
                finding(Code.MATCH_DECISION_APPLIED, file=path, decision="ignorer", by=decision.by)
            )
            return True
        rows = tuple(self.by_email_key[e].row for e in decision.emails if e in self.by_email_key)
        if rows:
            result.matches.append(Match(path, rows, Method.DECISION, identity="décision"))
            result.findings.append(
                finding(
                    Code.MATCH_DECISION_APPLIED,
                    file=path,
                    decision=", ".join(decision.emails),
                    by=decision.by,
                )
            )
            return True
        result.findings.append(
            Finding(
                Code.MATCH_DECISION_INVALID,
                file=path,
                params={
                    "line": decision.line,
                    "where": decision.where,
                    "reason": "aucune des adresses indiquées n'est dans la liste des agents",
                    **stored_action(decision),
                },
            )
        )
        return False

    def _match_file(self, cf: CertFile, info: CertInfo, result: MatchResult) -> None:
        """One file: the administrator's decision if there is one, else the matching rules."""
        path = cf.path
        if self._apply_admin_decision(path, info, result):
            return
        name = cert_name(info)
        verdict = self.content(info, name)
        base = {"cn": name.display or info.subject, "sha256": info.sha256}
        named = self.index.by_file.get(path, [])
        if named:
            self._file_column(result, path, info, name, verdict, named, base)
            return
        by_file_email = self._filename_email(path)
        agent = verdict.agent
        if verdict.hold is not None:
            self._held_or_file_email(result, path, info, name, verdict, by_file_email, base)
            return
        if agent is None:
            self._nobody(result, path, info, name, by_file_email, base)
            return
        file_agents = [by_file_email] if by_file_email else self._filename_agents(path)
        if file_agents and agent.row not in rows_of(file_agents):
            file_names_other(result, path, name, verdict, agent, file_agents, base)
        else:
            said = "nom du fichier concordant" if file_agents else "nom du fichier non contraire"
            attribute(result, path, name, verdict, agent, said)

    def _file_column(
        self,
        result: MatchResult,
        path: str,
        info: CertInfo,
        name: CertName,
        verdict: Verdict,
        named: Sequence[Agent],
        base: dict[str, str],
    ) -> None:
        """Rule 2: the roster's file column names this file; its content must not contradict it."""
        disagreeing = [a for a in named if not self.fit(info, name, a)]
        named_rows = rows_of(named)
        outsiders = (
            [a for a in verdict.agents if a.row not in named_rows]
            if verdict.method is Method.EMAIL and verdict.hold is None
            else []
        )
        if not disagreeing and not outsiders:
            checked = ("le contenu du certificat concorde",)
            rows = tuple(a.row for a in named)
            result.matches.append(
                Match(path, rows, Method.FILE_COLUMN, checked=checked, identity=name.identity)
            )
            return
        conflict(result, path, base, verdict, disagreeing or list(named), "la colonne Fichier")

    def _held_or_file_email(
        self,
        result: MatchResult,
        path: str,
        info: CertInfo,
        name: CertName,
        verdict: Verdict,
        by_file_email: Agent | None,
        base: dict[str, str],
    ) -> None:
        """Rule 7: a tie between homonyms is settled by a file named after one's e-mail."""
        if (
            verdict.hold is Code.MATCH_AMBIGUOUS
            and by_file_email is not None
            and by_file_email.row in rows_of(verdict.agents)
            and self.fit(info, name, by_file_email)
        ):
            checked = ("le contenu désigne aussi cet agent parmi des homonymes",)
            result.matches.append(
                Match(
                    path, (by_file_email.row,), Method.FILENAME_EMAIL, None, checked, name.identity
                )
            )
            return
        result.hold(path, verdict.agents)
        result.findings.append(
            Finding(
                verdict.hold or Code.MATCH_AMBIGUOUS,
                file=path,
                params={**base, **verdict.params, "candidate_emails": emails_of(verdict.agents)},
            )
        )

    def _nobody(
        self,
        result: MatchResult,
        path: str,
        info: CertInfo,
        name: CertName,
        by_file_email: Agent | None,
        base: dict[str, str],
    ) -> None:
        """The content designates nobody: a file named after an e-mail may, if the name fits."""
        if (
            by_file_email is not None
            and org_relation(info, by_file_email) is not Org.OTHER
            and (why := self.fit(info, name, by_file_email))
        ):
            checked = (f"nom du certificat : {why}",)
            result.matches.append(
                Match(
                    path, (by_file_email.row,), Method.FILENAME_EMAIL, None, checked, name.identity
                )
            )
            return
        if by_file_email is not None:
            verdict = Verdict((), Method.NAME)
            conflict(result, path, base, verdict, [by_file_email], "le nom du fichier")
            return
        result.findings.append(Finding(Code.MATCH_ORPHAN_FILE, file=path, params=base))

    def match(self, files: Iterable[CertFile]) -> MatchResult:
        """Decide, for every file holding a usable certificate, which rows receive it.

        Each file is decided on its own, so files may be matched in batches (as they are read)
        and the batches combined; `combine` gives the same result whatever the batching.
        """
        result = MatchResult()
        for cf in files:
            if cf.cert is not None and cf.usable:
                self._match_file(cf, cf.cert, result)
            else:
                owner = self._filename_email(cf.path)
                owners = [owner] if owner is not None else self._filename_agents(cf.path)
                if len(owners) == 1:
                    first_path(result.refused_rows, owners[0].row, cf.path)
        return result
