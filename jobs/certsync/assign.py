"""De-duplication, then the assignment of one certificate per row and a status per file."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from certsync.findings import Code, Finding, any_blocking, finding
from certsync.ingest import Checked
from certsync.match import Match, MatchResult
from certsync.records import (
    Agent,
    AgentResult,
    AgentStatus,
    FileResult,
    FileStatus,
    Roster,
)
from certsync.validate import Validator

#: Roster codes that keep a row out of matching altogether.
EXCLUDED_ROW_CODES = frozenset({Code.ROSTER_DUPLICATE_AGENT})


#: File names Windows, macOS and browsers give to a copy or a second download of a file.
_COPY_NAME = re.compile(
    r"^(copie de |copy of |copie_de_)"
    r"|( - copie| - copy| copie| copy|_copie|-copie)( \(\d+\))?$"
    r"|\s?\(\d+\)$",
    re.IGNORECASE,
)


def is_copy_name(path: str) -> bool:
    """Whether a file's name is that of a copy (« Copie de x.cer », « x (1).cer »…)."""
    stem = path.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return bool(_COPY_NAME.search(stem.strip()))


def deduplicate_files(
    checked: Sequence[Checked], preferred: set[str]
) -> tuple[list[Checked], dict[str, str]]:
    """Mark later copies of one certificate FILE_DUPLICATE; returns (records, duplicate → kept).

    The copy named in the roster's file column is kept first, then a file whose name is not
    that of a copy (« Copie de x.cer », « x (1).cer », « x - Copie.cer »), then the first by
    path: the original keeps its name in the report, the copy is called the duplicate.
    """
    by_sha: dict[str, list[Checked]] = defaultdict(list)
    for item in checked:
        if item.file.cert is not None and item.file.usable:
            by_sha[item.file.cert.sha256].append(item)
    kept_of: dict[str, str] = {}
    for items in by_sha.values():
        if len(items) < 2:
            continue
        items.sort(
            key=lambda i: (i.file.path not in preferred, is_copy_name(i.file.path), i.file.path)
        )
        for dup in items[1:]:
            kept_of[dup.file.path] = items[0].file.path
    out = []
    for item in checked:
        kept = kept_of.get(item.file.path)
        if kept is not None:
            dup_finding = finding(Code.FILE_DUPLICATE, file=item.file.path, kept=kept)
            item = replace(
                item, file=replace(item.file, findings=(*item.file.findings, dup_finding))
            )
        out.append(item)
    return out, kept_of


@dataclass(slots=True)
class Assignments:
    """Each roster row with its certificate (or why none) and each file with its status."""

    agents: list[AgentResult] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)


def _pick(candidates: list[tuple[Match, Checked]]) -> tuple[Match, Checked]:
    """The strongest evidence first; then the most recent valid certificate, else the most recent.

    A newer certificate matched by a weaker signal never replaces one matched by a stronger one.
    """

    def key(pair: tuple[Match, Checked]) -> tuple[int, bool, object, object, str]:
        cert = pair[1].file.cert
        assert cert is not None
        valid = not any_blocking(pair[1].checks)
        return (pair[0].tier, valid, cert.not_after, cert.not_before, pair[1].file.path)

    return max(candidates, key=key)


def _renews(older: Match, chosen: Match) -> bool:
    """Superseding happens only between certificates of one identity and one evidence tier."""
    return older.tier == chosen.tier and older.identity == chosen.identity


def assign_certificates(
    roster: Roster,
    checked: Sequence[Checked],
    matched: MatchResult,
    validator: Validator,
) -> Assignments:
    """Give each row its certificate (or say why not) and each file its status."""
    assigner = _Assigner(roster, checked, matched, validator)
    result = Assignments()
    for agent in roster.agents:
        result.agents.append(assigner.agent_result(agent))
    for item in checked:
        passed_over = _one(assigner.passed_over, item.file.path)
        result.files.append(
            _file_result(
                item,
                matched,
                assigner.used,
                assigner.superseded,
                [*assigner.file_findings.get(item.file.path, []), *passed_over],
            )
        )
    return result


class _Assigner:
    """The indexes the assignment reads, and what it learns about files while assigning rows."""

    def __init__(
        self,
        roster: Roster,
        checked: Sequence[Checked],
        matched: MatchResult,
        validator: Validator,
    ) -> None:
        self.matched = matched
        self.validator = validator
        by_path = {c.file.path: c for c in checked}
        self.by_row: dict[int, list[tuple[Match, Checked]]] = defaultdict(list)
        for m in matched.matches:
            for row in m.rows:
                self.by_row[row].append((m, by_path[m.file]))
        self.row_findings: dict[int, list[Finding]] = defaultdict(list)
        for f in roster.findings:
            if f.row is not None:
                self.row_findings[f.row].append(f)
        self.file_findings: dict[str, list[Finding]] = defaultdict(list)
        for f in matched.findings:
            if f.file is not None:
                self.file_findings[f.file].append(f)
        self.email_of = {a.row: a.email for a in roster.agents}
        self.used: dict[str, list[int]] = defaultdict(list)
        self.superseded: dict[str, str] = {}
        self.passed_over: dict[str, Finding] = {}

    def agent_result(self, agent: Agent) -> AgentResult:
        """One row: excluded, without a certificate, or with the one chosen among its matches."""
        own = list(self.row_findings.get(agent.row, ()))
        if any(f.code in EXCLUDED_ROW_CODES for f in own):
            return AgentResult(agent, AgentStatus.BLOCKED, findings=tuple(own))
        candidates = self.by_row.get(agent.row, [])
        if not candidates:
            own.append(_no_certificate(agent.row, self.matched))
            status = AgentStatus.BLOCKED if any_blocking(own) else AgentStatus.NO_CERTIFICATE
            return AgentResult(agent, status, findings=tuple(own))
        return self._assigned(agent, own, candidates)

    def _assigned(
        self, agent: Agent, own: list[Finding], candidates: list[tuple[Match, Checked]]
    ) -> AgentResult:
        """The chosen certificate, with every finding about it; the others are set aside."""
        chosen_match, chosen = _pick(candidates)
        cert = chosen.file.cert
        assert cert is not None
        self._set_aside(agent, candidates, chosen_match, chosen)
        path = chosen.file.path
        own.extend(f.at(row=agent.row, file=path) for f in chosen.file.findings)
        own.extend(f.at(row=agent.row, file=path) for f in chosen.checks)
        org = self.validator.check_organisation(cert, agent)
        if org is not None:
            own.append(org.at(row=agent.row, file=path))
        if len(chosen_match.rows) > 1:
            emails = ", ".join(self.email_of[r] for r in chosen_match.rows)
            own.append(
                finding(Code.MATCH_SHARED_CERTIFICATE, row=agent.row, file=path, emails=emails)
            )
        self.used[path].append(agent.row)
        blocked = any_blocking(own)
        # The push stage turns WOULD_PUSH into pushed / unchanged / failed on a real run.
        status = AgentStatus.BLOCKED if blocked else AgentStatus.WOULD_PUSH
        return AgentResult(
            agent,
            status,
            file=path,
            sha256=cert.sha256,
            method=chosen_match.describe(),
            not_after=cert.not_after,
            findings=tuple(own),
        )

    def _set_aside(
        self,
        agent: Agent,
        candidates: list[tuple[Match, Checked]],
        chosen_match: Match,
        chosen: Checked,
    ) -> None:
        """The candidates not chosen: superseded by a renewal, or passed over for stronger."""
        for other_match, other in candidates:
            if other is chosen:
                continue
            if _renews(other_match, chosen_match):
                self.superseded[other.file.path] = chosen.file.path
            else:
                self.passed_over[other.file.path] = _passed_over(
                    other_match, other, chosen_match, agent.display_name, agent.email
                )


def _no_certificate(row: int, matched: MatchResult) -> Finding:
    """MATCH_NO_CERTIFICATE, naming the file held for a decision or refused, if there is one."""
    held = matched.held_rows.get(row)
    refused = matched.refused_rows.get(row)
    reason = (
        f" : le fichier « {held} » est en attente de décision"
        if held
        else f" : le fichier « {refused} » a été refusé (voir ce fichier)"
        if refused
        else ""
    )
    extra: dict[str, object] = {"reason": reason, "see_file": held or refused or ""}
    if held:
        extra["action"] = (
            f"Tranchez le cas du fichier « {held} » (voir son constat) : choisissez "
            "l'agent dans sa colonne « Décision » du classeur, ou indiquez-le dans le "
            "fichier de décisions ou dans la colonne Fichier de la liste."
        )
    elif refused:
        extra["action"] = (
            f"Lisez le constat du fichier « {refused} » et demandez à l'agent un nouvel "
            "export de la seule partie publique de son certificat (.cer)."
        )
    return Finding(Code.MATCH_NO_CERTIFICATE, row=row, params=extra)


def _file_result(
    item: Checked,
    matched: MatchResult,
    used: Mapping[str, list[int]],
    superseded: Mapping[str, str],
    match_findings: list[Finding],
) -> FileResult:
    cf = item.file
    path = cf.path
    findings = [*cf.findings, *match_findings]
    checks = [f.at(file=path) for f in item.checks]
    cn = cf.cert.common_name if cf.cert else ""
    sha = cf.cert.sha256 if cf.cert else None
    if any(f.code is Code.FILE_DUPLICATE for f in cf.findings):
        status = FileStatus.DUPLICATE
    elif cf.cert is None or not cf.usable:
        status = FileStatus.REJECTED
    elif path in matched.held:
        status = FileStatus.HELD
        findings.extend(checks)
    elif path in matched.ignored:
        status = FileStatus.REJECTED
    elif path in superseded:
        status = FileStatus.SUPERSEDED
        findings.append(finding(Code.MATCH_SUPERSEDED, file=path, newer=superseded[path]))
    elif path not in used and any(f.code is Code.MATCH_WEAKER_CANDIDATE for f in findings):
        status = FileStatus.HELD
        findings.extend(checks)
    elif path in used:
        status = FileStatus.REJECTED if any_blocking(item.checks) else FileStatus.USED
    else:
        status = FileStatus.ORPHAN
        findings.extend(checks)
    return FileResult(path, status, cf.format, sha, cn, tuple(used.get(path, ())), tuple(findings))


def _passed_over(weaker: Match, item: Checked, kept: Match, name: str, email: str) -> Finding:
    """MATCH_WEAKER_CANDIDATE: this file also pointed at the agent, another one was kept."""
    assert item.file.cert is not None
    return finding(
        Code.MATCH_WEAKER_CANDIDATE,
        file=item.file.path,
        method=weaker.describe(),
        agent=f"{name} <{email}>",
        kept=kept.file,
        kept_method=kept.describe(),
        sha256=item.file.cert.sha256,
    )


def _one(mapping: Mapping[str, Finding], path: str) -> list[Finding]:
    found = mapping.get(path)
    return [found] if found is not None else []
