"""De-duplication and the final decision per row and per file, before any push."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from certsync.findings import Code, Finding, finding
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
class Decisions:
    """The outcome of the decision stages, before the push."""

    agents: list[AgentResult] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)


def _pick(candidates: list[tuple[Match, Checked]]) -> tuple[Match, Checked]:
    """The strongest evidence first; then the most recent valid certificate, else the most recent.

    A newer certificate matched by a weaker signal never replaces one matched by a stronger one.
    """

    def key(pair: tuple[Match, Checked]) -> tuple[int, bool, object, object, str]:
        cert = pair[1].file.cert
        assert cert is not None
        valid = not any(f.blocking for f in pair[1].checks)
        return (pair[0].tier, valid, cert.not_after, cert.not_before, pair[1].file.path)

    return max(candidates, key=key)


def _renews(older: Match, chosen: Match) -> bool:
    """Superseding happens only between certificates of one identity and one evidence tier."""
    return older.tier == chosen.tier and older.identity == chosen.identity


@dataclass(slots=True)
class _Tally:
    """What the rows' choices say about the other files, for their own status."""

    used: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    """File → the rows it was given to."""
    superseded: dict[str, str] = field(default_factory=dict)
    """Older file → the newer one of the same identity kept instead."""
    passed_over: dict[str, Finding] = field(default_factory=dict)
    """File that pointed at a row, kept out by stronger evidence → MATCH_WEAKER_CANDIDATE."""


def decide(
    roster: Roster,
    checked: Sequence[Checked],
    matched: MatchResult,
    validator: Validator,
) -> Decisions:
    """Give each row its certificate (or say why not) and each file its status."""
    by_path = {c.file.path: c for c in checked}
    by_row: dict[int, list[tuple[Match, Checked]]] = defaultdict(list)
    for m in matched.matches:
        for row in m.rows:
            by_row[row].append((m, by_path[m.file]))
    row_findings: dict[int, list[Finding]] = defaultdict(list)
    for f in roster.findings:
        if f.row is not None:
            row_findings[f.row].append(f)
    email_of = {a.row: a.email for a in roster.agents}
    tally = _Tally()
    result = Decisions()
    for agent in roster.agents:
        own = list(row_findings.get(agent.row, ()))
        candidates = by_row.get(agent.row, [])
        if any(f.code in EXCLUDED_ROW_CODES for f in own):
            result.agents.append(AgentResult(agent, AgentStatus.BLOCKED, findings=tuple(own)))
        elif not candidates:
            result.agents.append(_without_certificate(agent, own, matched))
        else:
            result.agents.append(
                _with_certificate(agent, own, candidates, validator, email_of, tally)
            )
    result.files.extend(_file_results(checked, matched, tally))
    return result


def _without_certificate(agent: Agent, own: list[Finding], matched: MatchResult) -> AgentResult:
    """MATCH_NO_CERTIFICATE, naming the held or refused file that pointed at the row, if any."""
    held = matched.held_rows.get(agent.row)
    refused = matched.refused_rows.get(agent.row)
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
    own.append(Finding(Code.MATCH_NO_CERTIFICATE, row=agent.row, params=extra))
    status = AgentStatus.BLOCKED if any(f.blocking for f in own) else AgentStatus.NO_CERTIFICATE
    return AgentResult(agent, status, findings=tuple(own))


def _with_certificate(
    agent: Agent,
    own: list[Finding],
    candidates: list[tuple[Match, Checked]],
    validator: Validator,
    email_of: Mapping[int, str],
    tally: _Tally,
) -> AgentResult:
    """The row's best candidate, with its findings; the others are superseded or passed over."""
    chosen_match, chosen = _pick(candidates)
    cert = chosen.file.cert
    assert cert is not None
    for other_match, other in candidates:
        if other is chosen:
            continue
        if _renews(other_match, chosen_match):
            tally.superseded[other.file.path] = chosen.file.path
        else:
            tally.passed_over[other.file.path] = _passed_over(
                other_match, other, chosen_match, agent.display_name, agent.email
            )
    own.extend(_chosen_findings(agent, chosen_match, chosen, validator, email_of))
    tally.used[chosen.file.path].append(agent.row)
    blocked = any(f.blocking for f in own)
    # The push stage turns WOULD_PUSH into pushed / unchanged / failed on a real run.
    return AgentResult(
        agent,
        AgentStatus.BLOCKED if blocked else AgentStatus.WOULD_PUSH,
        file=chosen.file.path,
        sha256=cert.sha256,
        method=chosen_match.describe(),
        not_after=cert.not_after,
        findings=tuple(own),
    )


def _chosen_findings(
    agent: Agent, match: Match, chosen: Checked, validator: Validator, email_of: Mapping[int, str]
) -> list[Finding]:
    """The file's and the certificate's findings at the row, its organisation, a shared use."""
    path = chosen.file.path
    cert = chosen.file.cert
    assert cert is not None
    out = [f.at(row=agent.row, file=path) for f in chosen.file.findings]
    out.extend(f.at(row=agent.row, file=path) for f in chosen.checks)
    org = validator.check_organisation(cert, agent)
    if org is not None:
        out.append(org.at(row=agent.row, file=path))
    if len(match.rows) > 1:
        emails = ", ".join(email_of[r] for r in match.rows)
        out.append(finding(Code.MATCH_SHARED_CERTIFICATE, row=agent.row, file=path, emails=emails))
    return out


def _file_results(
    checked: Sequence[Checked], matched: MatchResult, tally: _Tally
) -> list[FileResult]:
    """Each file's status, in folder order, with the matching findings about it."""
    file_findings: dict[str, list[Finding]] = defaultdict(list)
    for f in matched.findings:
        if f.file is not None:
            file_findings[f.file].append(f)
    return [
        _file_result(
            item,
            matched,
            tally.used,
            tally.superseded,
            [*file_findings.get(item.file.path, []), *_one(tally.passed_over, item.file.path)],
        )
        for item in checked
    ]


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
        status = FileStatus.REJECTED if any(f.blocking for f in item.checks) else FileStatus.USED
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
