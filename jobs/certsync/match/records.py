"""The records of matching: methods and tiers, a match, the administrator's decision, the result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from certsync.findings import Code, Finding
from certsync.records import Agent


class Method(StrEnum):
    """Which evidence made a match; shown in the report in French."""

    DECISION = "fichier de décisions"
    FILE_COLUMN = "colonne Fichier de la liste"
    EMAIL = "e-mail du certificat"
    FILENAME_EMAIL = "e-mail dans le nom du fichier"
    NAME_ORG = "nom et organisme du certificat"
    EMAIL_LOCAL = "nom du certificat écrit par l'e-mail de la liste, dans l'organisme"
    NAME = "nom du certificat"
    FUZZY = "nom approché dans l'organisme"
    PARTIAL = "nom de famille et premier prénom dans l'organisme"
    REVIEW = "nom proche, à vérifier"


class Tier(IntEnum):
    """How strong the evidence of a match is; a weaker match never replaces a stronger one."""

    WEAK = 1
    STRONG = 2
    DECLARED = 3


TIER_OF: Mapping[Method, Tier] = {
    Method.DECISION: Tier.DECLARED,
    Method.FILE_COLUMN: Tier.DECLARED,
    Method.EMAIL: Tier.STRONG,
    Method.FILENAME_EMAIL: Tier.STRONG,
    Method.NAME_ORG: Tier.STRONG,
    Method.EMAIL_LOCAL: Tier.STRONG,
    Method.NAME: Tier.WEAK,
    Method.FUZZY: Tier.WEAK,
    Method.PARTIAL: Tier.WEAK,
    Method.REVIEW: Tier.WEAK,
}


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
    checked: tuple[str, ...] = ()
    """The contradictions that were looked for and not found (French)."""
    identity: str = ""
    """The certificate holder's name as a key: renewals supersede only within one identity."""

    @property
    def tier(self) -> Tier:
        """Strength of the evidence."""
        return TIER_OF[self.method]

    def describe(self) -> str:
        """French one-liner for the report: the evidence, then what was checked."""
        text = f"{self.method} ({self.score:.0f}/100)" if self.score is not None else self.method
        return f"{text} (vérifié : {', '.join(self.checked)})" if self.checked else str(text)


@dataclass(frozen=True, slots=True)
class AdminDecision:
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
    """Hold, orphan, file-name and decision findings, per file."""
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
            first_path(self.held_rows, agent.row, path)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the certificate's content says: one agent, nobody, or a hold with its finding."""

    agents: tuple[Agent, ...]
    method: Method
    score: float | None = None
    checked: tuple[str, ...] = ()
    hold: Code | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def agent(self) -> Agent | None:
        """The one agent the content designates, unless held."""
        return self.agents[0] if self.hold is None and len(self.agents) == 1 else None


def first_path(mapping: dict[int, str], row: int, path: str) -> None:
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
                first_path(out.held_rows, row, path)
        for row, path in part.refused_rows.items():
            if path not in drop:
                first_path(out.refused_rows, row, path)
    return out
