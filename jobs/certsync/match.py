"""Matching certificate files to roster rows: exact keys first, fuzzy inside one organisation."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from enum import StrEnum

from rapidfuzz import fuzz, process

from certsync.findings import Code, Finding, finding
from certsync.names import compact, filename_key, person_keys, tokens
from certsync.records import Agent, CertFile, CertInfo

#: Fuzzy scores at or above this auto-match (single edit on a 10+ letter key scores above 92).
FUZZY_ACCEPT = 92.0
#: The best fuzzy candidate must lead the second by at least this many points.
FUZZY_MARGIN = 5.0
#: Scores from here up to FUZZY_ACCEPT are held for review, with the candidates named.
FUZZY_REVIEW = 85.0
#: Minimum similarity between the certificate's name and a row chosen by the file column.
AGREEMENT_MIN = 75.0

_EMAIL_IN_NAME = re.compile(r"^[^@\s/\\]+@[^@\s/\\]+\.[a-z]{2,}$", re.IGNORECASE)
_EXTENSIONS = re.compile(r"(\.(cer|crt|pem|der|p7b|p7c|txt|cert|key|pfx|p12))+$", re.IGNORECASE)


class Method(StrEnum):
    """Which signal made a match; shown in the report in French."""

    DECISION = "fichier de décisions"
    FILE_COLUMN = "colonne Fichier de la liste"
    EMAIL = "e-mail du certificat"
    FILENAME_EMAIL = "e-mail dans le nom du fichier"
    NAME_ORG = "nom et organisme du certificat"
    NAME = "nom du certificat"
    FUZZY = "nom approché dans l'organisme"
    PARTIAL = "nom de famille et premier prénom dans l'organisme"
    REVIEW = "nom proche, à vérifier"


@dataclass(frozen=True, slots=True)
class Match:
    """A certificate file given to one or more roster rows."""

    file: str
    """Certificate file, relative path."""
    rows: tuple[int, ...]
    """Roster rows that receive it (several only for a shared certificate)."""
    method: Method
    """How the match was made."""
    score: float | None = None
    """Fuzzy score, when the method is fuzzy."""

    def describe(self) -> str:
        """French one-liner for the report."""
        return (
            f"{self.method} ({self.score:.0f}/100)" if self.score is not None else str(self.method)
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """An administrator's decision for one certificate, from the decisions file."""

    sha256: str
    emails: tuple[str, ...] = ()
    """E-mails (case-folded) to assign the certificate to."""
    ignore: bool = False
    """`ignorer`: the certificate is never used."""
    line: int = 0
    source: str = ""
    """For a decision kept in the state: where it was taken (workbook and row)."""

    @property
    def where(self) -> str:
        """French: which decision this is, for messages."""
        if self.source:
            return f"enregistrée ({self.source})"
        return f"de la ligne {self.line} du fichier de décisions"

    @property
    def by(self) -> str:
        """French: who fixed the attribution, for MATCH_DECISION_APPLIED."""
        return (
            f"la décision enregistrée ({self.source})" if self.source else "le fichier de décisions"
        )


@dataclass(slots=True)
class MatchResult:
    """What matching decided for every file."""

    matches: list[Match] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    """MATCH_AMBIGUOUS / MATCH_CONFLICT / MATCH_ORPHAN_FILE / decision findings, per file."""
    held: set[str] = field(default_factory=set)
    """Files held because signals disagree or several rows fit."""
    ignored: set[str] = field(default_factory=set)
    """Files the decisions file says to ignore."""
    held_rows: dict[int, str] = field(default_factory=dict)
    """Rows that were candidates of a held file → that file."""
    refused_rows: dict[int, str] = field(default_factory=dict)
    """Rows whose refused file (no usable certificate) is recognisable by its name → that file."""

    def hold(self, path: str, agents: Sequence[Agent]) -> None:
        """Hold a file; remember which rows it could have gone to."""
        self.held.add(path)
        for agent in agents:
            _first_path(self.held_rows, agent.row, path)


@dataclass(slots=True)
class _Index:
    by_email: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_siren: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_org_name: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_file: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    keys: dict[int, frozenset[str]] = field(default_factory=dict)


def _index(agents: Iterable[Agent], file_refs: Mapping[int, str]) -> _Index:
    index = _Index()
    for agent in agents:
        keys = person_keys(agent.prenom, agent.nom, agent.full_name)
        index.keys[agent.row] = keys
        if agent.email:
            index.by_email[agent.email_key].append(agent)
        for key in keys:
            index.by_name[key].append(agent)
        if agent.siren:
            index.by_siren[agent.siren].append(agent)
        if agent.organisation:
            index.by_org_name[compact(agent.organisation)].append(agent)
        if agent.row in file_refs:
            index.by_file[file_refs[agent.row]].append(agent)
    return index


@dataclass(frozen=True, slots=True)
class _Block:
    """One organisation's rows, laid out for fuzzy scoring (built once per organisation)."""

    agents: tuple[Agent, ...]
    keys: list[str]
    """Every name key of every row."""
    owners: list[int]
    """Row number owning each key."""
    by_row: dict[int, Agent]
    by_surname: dict[str, list[Agent]]
    """Rows by compact surname (the compound-first-name rule)."""

    @classmethod
    def of(cls, agents: Sequence[Agent], keys_of: Mapping[int, frozenset[str]]) -> _Block:
        keys: list[str] = []
        owners: list[int] = []
        by_surname: dict[str, list[Agent]] = defaultdict(list)
        for agent in agents:
            for key in sorted(keys_of[agent.row]):
                keys.append(key)
                owners.append(agent.row)
            if agent.nom:
                by_surname[compact(agent.nom)].append(agent)
        return cls(tuple(agents), keys, owners, {a.row: a for a in agents}, dict(by_surname))


def _sirens(info: CertInfo) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i[:9] for i in info.org_ids if len(i) in (9, 14)))


def _rows(agents: Iterable[Agent]) -> set[int]:
    """Row numbers: rows identify agents (comparing whole records is needlessly slow)."""
    return {a.row for a in agents}


def _stored_action(decision: Decision) -> dict[str, str]:
    """A decision kept in the state is corrected with `certsync decisions`, not in a file."""
    if not decision.source:
        return {}
    return {
        "action": f"Retirez la décision (certsync decisions remove {decision.sha256}) ou "
        "remettez l'agent dans la liste, puis relancez."
    }


def _emails(agents: Sequence[Agent]) -> tuple[str, ...]:
    """The candidates' e-mails, for the workbook's « Décision » drop-down."""
    return tuple(dict.fromkeys(a.email for a in agents))


def _who(agents: Sequence[Agent]) -> str:
    if not agents:
        return "personne de la liste"
    return ", ".join(f"{a.display_name} <{a.email}> (ligne {a.row})" for a in agents)


def agrees(info: CertInfo, agent: Agent, keys: Iterable[str]) -> bool:
    """Whether the certificate's content is compatible with a row chosen by another signal."""
    if agent.email_key in {e.casefold() for e in info.emails}:
        return True
    if name_score(info, keys) >= AGREEMENT_MIN:
        return True
    # "T. DUBOIS" for Thomas DUBOIS: the whole surname must appear in the CN.
    cn_words = set(tokens(info.common_name))
    surname = tokens(agent.nom)
    return bool(surname) and set(surname) <= cn_words


def name_score(info: CertInfo, keys: Iterable[str]) -> float:
    """Best similarity (0–100) between the certificate's CN and a row's name keys."""
    cn = compact(info.common_name)
    if not cn:
        return 0.0
    return max((fuzz.ratio(cn, key) for key in keys), default=0.0)


class Matcher:
    """Matches files to rows with a fixed roster; build once, call `match` per run."""

    def __init__(
        self,
        agents: Sequence[Agent],
        *,
        file_refs: Mapping[int, str],
        decisions: Mapping[str, Decision] | None = None,
    ) -> None:
        self.by_email_key = {a.email_key: a for a in agents if a.email}
        self.index = _index(agents, file_refs)
        self.decisions = decisions or {}
        self._blocks: dict[tuple[str, ...], _Block] = {}

    # -- content signals -------------------------------------------------------------------

    def _by_email(self, info: CertInfo) -> list[Agent]:
        found: dict[int, Agent] = {}
        for email in info.emails:
            for agent in self.index.by_email.get(email.casefold(), ()):
                found[agent.row] = agent
        return list(found.values())

    def _by_name(self, info: CertInfo) -> list[Agent]:
        key = compact(info.common_name)
        return list(self.index.by_name.get(key, ())) if key else []

    def _block(self, info: CertInfo) -> _Block | None:
        """Rows of the certificate's organisation: by SIREN, else by organisation name."""
        sirens = _sirens(info)
        if sirens:
            cache_key = ("siren", *sirens)
            if cache_key not in self._blocks:
                rows: dict[int, Agent] = {}
                for siren in sirens:
                    rows.update((a.row, a) for a in self.index.by_siren.get(siren, ()))
                self._blocks[cache_key] = _Block.of(list(rows.values()), self.index.keys)
            block = self._blocks[cache_key]
            if block.agents:
                return block
        if info.organisation:
            org = compact(info.organisation)
            cache_key = ("org", org)
            if cache_key not in self._blocks:
                agents = list(self.index.by_org_name.get(org, ()))
                self._blocks[cache_key] = _Block.of(agents, self.index.keys)
            return self._blocks[cache_key]
        return None

    def _fuzzy(self, info: CertInfo, block: _Block | None) -> tuple[list[Agent], float, Method]:
        """Best row in the block by fuzzy score, with a strict threshold and a clear lead."""
        cn = compact(info.common_name)
        cn_tokens = tokens(info.common_name)
        if block is None or not block.agents or not cn:
            return [], 0.0, Method.FUZZY
        # rapidfuzz scores the whole block in C; only rows near the top matter.
        best_of: dict[int, float] = {}
        for _key, score, index in process.extract(
            cn,
            block.keys,
            scorer=fuzz.ratio,
            limit=None,
            score_cutoff=FUZZY_REVIEW - FUZZY_MARGIN,
        ):
            owner = block.owners[index]
            best_of[owner] = max(score, best_of.get(owner, 0.0))
        scored = sorted(((score, block.by_row[row]) for row, score in best_of.items()),
                        key=lambda pair: (-pair[0], pair[1].row))  # fmt: skip
        best = scored[0][0] if scored else 0.0
        second = scored[1][0] if len(scored) > 1 else 0.0
        if best >= FUZZY_ACCEPT and best - second >= FUZZY_MARGIN:
            return [scored[0][1]], best, Method.FUZZY
        if best >= FUZZY_ACCEPT:
            return [a for s, a in scored if best - s < FUZZY_MARGIN], best, Method.FUZZY
        # Compound first name on one side only ("Jean-Marie DUPONT" for roster "Jean DUPONT"):
        # the surname must be whole and the roster's first given name one of the CN's words.
        spans = {
            "".join(cn_tokens[i:j])
            for i in range(len(cn_tokens))
            for j in range(i + 1, len(cn_tokens) + 1)
        }
        partial = [
            a
            for span in spans
            for a in block.by_surname.get(span, ())
            if (tokens(a.prenom)[:1] or ("",))[0] in cn_tokens
        ]
        if partial:
            return sorted(set(partial), key=lambda a: a.row), 0.0, Method.PARTIAL
        if best >= FUZZY_REVIEW:
            # The review zone: never a match; returning several candidates holds the file.
            return [a for s, a in scored if best - s < FUZZY_MARGIN], best, Method.REVIEW
        return [], best, Method.FUZZY

    def _content(self, info: CertInfo) -> tuple[list[Agent], Method, float | None]:
        """Candidates from the certificate's content, strongest signal first."""
        by_email = self._by_email(info)
        if by_email:
            return by_email, Method.EMAIL, None
        by_name = self._by_name(info)
        sirens = set(_sirens(info))
        if by_name:
            if sirens:
                in_org = [a for a in by_name if a.siren in sirens]
                if in_org:
                    return in_org, Method.NAME_ORG, None
            return by_name, Method.NAME, None
        found, score, method = self._fuzzy(info, self._block(info))
        return found, method, (score if method is Method.FUZZY and found else None)

    # -- file-side signals -------------------------------------------------------------------

    def _filename_email(self, path: str) -> Agent | None:
        name = _EXTENSIONS.sub("", path.rsplit("/", 1)[-1])
        if _EMAIL_IN_NAME.match(name):
            return self.by_email_key.get(name.casefold())
        return None

    def _filename_agents(self, path: str) -> list[Agent]:
        stem = _EXTENSIONS.sub("", path.rsplit("/", 1)[-1])
        key = filename_key(stem)
        return list(self.index.by_name.get(key, ())) if key else []

    # -- decision ------------------------------------------------------------------------------

    def _decide(self, cf: CertFile, info: CertInfo, result: MatchResult) -> None:
        path = cf.path
        decision = self.decisions.get(info.sha256)
        if decision is not None:
            if decision.ignore:
                result.ignored.add(path)
                result.findings.append(
                    finding(
                        Code.MATCH_DECISION_APPLIED, file=path, decision="ignorer", by=decision.by
                    )
                )
                return
            rows = tuple(
                self.by_email_key[e].row for e in decision.emails if e in self.by_email_key
            )
            if rows:
                result.matches.append(Match(path, rows, Method.DECISION))
                result.findings.append(
                    finding(
                        Code.MATCH_DECISION_APPLIED,
                        file=path,
                        decision=", ".join(decision.emails),
                        by=decision.by,
                    )
                )
                return
            result.findings.append(
                Finding(
                    Code.MATCH_DECISION_INVALID,
                    file=path,
                    params={
                        "line": decision.line,
                        "where": decision.where,
                        "reason": "aucune des adresses indiquées n'est dans la liste des agents",
                        **_stored_action(decision),
                    },
                )
            )

        content, method, score = self._content(info)
        named = self.index.by_file.get(path, [])
        base = {"cn": info.common_name or info.subject, "sha256": info.sha256}

        if named:
            # The roster's file column names this file: its content must agree with those rows.
            disagreeing = [
                a
                for a in named
                if a.row not in _rows(content) and not agrees(info, a, self.index.keys[a.row])
            ]
            named_rows = _rows(named)
            outsiders = (
                [a for a in content if a.row not in named_rows] if method is Method.EMAIL else []
            )
            if not disagreeing and not outsiders:
                result.matches.append(Match(path, tuple(a.row for a in named), Method.FILE_COLUMN))
                return
            self._conflict(
                result, path, base, content, method, disagreeing or named, "la colonne Fichier"
            )
            return

        by_file_email = self._filename_email(path)
        if by_file_email is not None:
            fits = (
                by_file_email.row in _rows(content)
                if content
                else agrees(info, by_file_email, self.index.keys[by_file_email.row])
            )
            if fits:
                result.matches.append(Match(path, (by_file_email.row,), Method.FILENAME_EMAIL))
            else:
                self._conflict(
                    result, path, base, content, method, [by_file_email], "le nom du fichier"
                )
            return

        if not content:
            result.findings.append(Finding(Code.MATCH_ORPHAN_FILE, file=path, params=base))
            return
        if len(content) > 1 or method is Method.REVIEW:
            result.hold(path, content)
            result.findings.append(
                Finding(
                    Code.MATCH_AMBIGUOUS,
                    file=path,
                    params={
                        **base,
                        "candidates": _who(content),
                        "candidate_emails": _emails(content),
                    },
                )
            )
            return
        agent = content[0]
        by_filename = self._filename_agents(path)
        if len(by_filename) == 1 and by_filename[0].row != agent.row:
            self._conflict(result, path, base, content, method, by_filename, "le nom du fichier")
            return
        if method is Method.EMAIL and info.common_name:
            # An e-mail match whose CN names exactly another row is contradictory.
            by_name = self._by_name(info)
            if len(by_name) == 1 and by_name[0].row != agent.row:
                self._conflict(result, path, base, [agent], method, by_name, "le nom du certificat")
                return
        result.matches.append(Match(path, (agent.row,), method, score))

    def _conflict(
        self,
        result: MatchResult,
        path: str,
        base: dict[str, str],
        content: Sequence[Agent],
        method: Method,
        other: Sequence[Agent],
        other_signal: str,
    ) -> None:
        result.hold(path, [*content, *other])
        result.findings.append(
            Finding(
                Code.MATCH_CONFLICT,
                file=path,
                params={
                    **base,
                    "content_signal": str(method),
                    "content_agent": _who(content),
                    "other_signal": other_signal,
                    "other_agent": _who(other),
                    "candidate_emails": _emails([*content, *other]),
                },
            )
        )

    def match(self, files: Iterable[CertFile]) -> MatchResult:
        """Decide, for every file holding a usable certificate, which rows receive it.

        Each file is decided on its own, so files may be matched in batches (as they are read)
        and the batches combined; `combine` gives the same result whatever the batching.
        """
        result = MatchResult()
        for cf in files:
            if cf.cert is not None and cf.usable:
                self._decide(cf, cf.cert, result)
            else:
                owner = self._filename_email(cf.path)
                owners = [owner] if owner is not None else self._filename_agents(cf.path)
                if len(owners) == 1:
                    _first_path(result.refused_rows, owners[0].row, cf.path)
        return result


def _first_path(mapping: dict[int, str], row: int, path: str) -> None:
    """Keep, for a row, the first file by path: independent of the order files come in."""
    known = mapping.get(row)
    if known is None or path < known:
        mapping[row] = path


def combine(parts: Iterable[MatchResult], *, drop: Set[str] = frozenset()) -> MatchResult:
    """Merge batch results into one, leaving out the files in `drop` (duplicates)."""
    out = MatchResult()
    for part in parts:
        out.matches.extend(m for m in part.matches if m.file not in drop)
        out.findings.extend(f for f in part.findings if f.file not in drop)
        out.held |= part.held - drop
        out.ignored |= part.ignored - drop
        for row, path in part.held_rows.items():
            if path not in drop:
                _first_path(out.held_rows, row, path)
        for row, path in part.refused_rows.items():
            if path not in drop:
                _first_path(out.refused_rows, row, path)
    return out
