"""Matching certificate files to roster rows, rule by rule as the README's attribution policy says.

Evidence, strongest first: a decision, the roster's file column, the certificate's e-mail, its
name (GN and SN, else CN) in the agent's organisation, the roster e-mail spelling that name,
then a near name in the organisation. Each rule checks what could contradict it; a tie or a
contradiction holds the file and names every candidate with the evidence on each side.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum
from functools import lru_cache

from rapidfuzz import fuzz, process

from certsync.findings import Code, Finding, finding
from certsync.names import (
    compact,
    filename_key,
    first_given,
    fold,
    given_and_surname,
    given_fits,
    local_key,
    name_keys,
    spellings,
    surname_variants,
    tokens,
)
from certsync.records import Agent, CertFile, CertInfo

#: Fuzzy scores at or above this auto-match (single edit on a 10+ letter key scores above 92).
FUZZY_ACCEPT = 92.0
#: The best fuzzy candidate must lead the second by at least this many points.
FUZZY_MARGIN = 5.0
#: Scores from here up to FUZZY_ACCEPT are held for review, with the candidates named.
FUZZY_REVIEW = 85.0
#: Minimum similarity for a certificate's name not to contradict a row chosen by another signal
#: (a typo scores above 90; a former holder of a shared mailbox with a similar name, below).
AGREEMENT_MIN = 85.0

_EMAIL_IN_NAME = re.compile(r"^[^@\s/\\]+@[^@\s/\\]+\.[a-z]{2,}$", re.IGNORECASE)
_EXTENSIONS = re.compile(r"(\.(cer|crt|pem|der|p7b|p7c|txt|cert|key|pfx|p12))+$", re.IGNORECASE)


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
            _first_path(self.held_rows, agent.row, path)


# -- the certificate's side -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertName:
    """The certificate holder's name: GN and SN when present (ordered), else the CN."""

    given: str
    surname: str
    common: str
    ordered: bool
    """GN and SN say which word is the surname; only a bare CN is read in both orders."""
    key: str
    """Compact key: given name then surname, or the CN as written."""

    @property
    def display(self) -> str:
        """The name for messages."""
        return f"{self.given} {self.surname}" if self.ordered else self.common

    @property
    def identity(self) -> str:
        """Order-free key of the holder, to tell a renewal from another person's certificate."""
        if self.ordered:
            return "".join(sorted((compact(self.given), compact(self.surname))))
        return "".join(sorted(tokens(self.common)))

    def cuts(self) -> list[tuple[str, str]]:
        """(given name, compact surname) readings: one with GN/SN, every split of a bare CN."""
        if self.ordered:
            return [(self.given, compact(self.surname))]
        words = tokens(self.common)
        out = []
        for cut in range(1, len(words)):
            out.append((" ".join(words[:cut]), "".join(words[cut:])))
            out.append((" ".join(words[cut:]), "".join(words[:cut])))
        return out


def cert_name(info: CertInfo) -> CertName:
    """The holder's name as the certificate gives it."""
    given, surname = given_and_surname(info.subject)
    if given and surname:
        return CertName(given, surname, info.common_name, True, compact(given) + compact(surname))
    return CertName(given, surname, info.common_name, False, compact(info.common_name))


class Org(Enum):
    """Whether a certificate and a roster row belong to the same organisation."""

    SAME = "same"
    OTHER = "other"
    UNKNOWN = "unknown"


def org_relation(info: CertInfo, agent: Agent) -> Org:
    """Same organisation by SIREN (by the full SIRET when both sides have one), else by name."""
    if info.org_ids and agent.siren:
        for cert_id in info.org_ids:
            full = len(cert_id) == 14 and len(agent.siret) == 14
            if (cert_id == agent.siret) if full else cert_id[:9] == agent.siren:
                return Org.SAME
        return Org.OTHER
    names = info.organisation and agent.organisation
    if names and compact(info.organisation) == compact(agent.organisation):
        return Org.SAME
    return Org.UNKNOWN


def _near_org(info: CertInfo, agents: list[Agent]) -> list[Agent]:
    """Rows that may be in the certificate's organisation, by a quick look at the SIREN.

    A common name, and the e-mail `prenom.nom` that goes with it, has namesakes in many places.
    """
    sirens = _sirens(info)
    return [a for a in agents if a.siren in sirens] if sirens else agents


def _sirens(info: CertInfo) -> frozenset[str]:
    """The certificate's SIRENs, plus "" for rows without one; empty when it has none."""
    return _sirens_of(info.org_ids)


@lru_cache(maxsize=4096)
def _sirens_of(org_ids: tuple[str, ...]) -> frozenset[str]:
    return frozenset((*(i[:9] for i in org_ids), "")) if org_ids else frozenset()


def _cert_org(info: CertInfo) -> str:
    ids = ", ".join(info.org_ids)
    return f"{info.organisation} ({ids})" if info.organisation and ids else info.organisation or ids


def _roster_org(agent: Agent) -> str:
    ident = agent.siret or agent.siren
    if agent.organisation and ident:
        return f"{agent.organisation} ({ident})"
    return agent.organisation or ident or "non indiqué"


# -- the roster's side ------------------------------------------------------------------------


@dataclass(slots=True)
class _Index:
    by_email: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    """Both orders: for a bare CN and for file names."""
    by_ordered: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    """Given name then surname: for GN + SN."""
    by_local: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_siren: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_org_name: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_file: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    keys: dict[int, frozenset[str]] = field(default_factory=dict)
    okeys: dict[int, frozenset[str]] = field(default_factory=dict)


def _index(agents: Iterable[Agent], file_refs: Mapping[int, str]) -> _Index:
    index = _Index()
    for agent in agents:
        okeys, keys = name_keys(agent.prenom, agent.nom, agent.full_name)
        index.keys[agent.row], index.okeys[agent.row] = keys, okeys
        if agent.email:
            index.by_email[agent.email_key].append(agent)
            index.by_local[local_key(agent.email_key)].append(agent)
        for key in keys:
            index.by_name[key].append(agent)
        for key in okeys:
            index.by_ordered[key].append(agent)
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
    """Every name key of every row: given name first for GN + SN, both orders for a bare CN."""
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
            for key in keys_of[agent.row]:
                keys.append(key)
                owners.append(agent.row)
            for surname in surname_variants(agent.nom):
                by_surname[surname].append(agent)
        by_row = {a.row: a for a in agents}
        return cls(tuple(agents), keys, owners, by_row, dict(by_surname))


def _rows(agents: Iterable[Agent]) -> set[int]:
    """Row numbers: rows identify agents (comparing whole records is needlessly slow)."""
    return {a.row for a in agents}


def _unique(agents: Iterable[Agent]) -> list[Agent]:
    return sorted({a.row: a for a in agents}.values(), key=lambda a: a.row)


def _stored_action(decision: AdminDecision) -> dict[str, str]:
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


def _who_why(pairs: Sequence[tuple[Agent, str]]) -> str:
    """Candidates with the evidence for each: what a hold shows the administrator."""
    return ", ".join(f"{a.display_name} <{a.email}> (ligne {a.row} : {why})" for a, why in pairs)


# -- the verdict of the content rules -----------------------------------------------------------


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


def _held(code: Code, agents: Iterable[Agent], method: Method, **params: str) -> Verdict:
    return Verdict(tuple(_unique(agents)), method, hold=code, params=params)


class Matcher:
    """Matches files to rows with a fixed roster; build once, call `match` per run."""

    def __init__(
        self,
        agents: Sequence[Agent],
        *,
        file_refs: Mapping[int, str],
        decisions: Mapping[str, AdminDecision] | None = None,
    ) -> None:
        self.by_email_key = {a.email_key: a for a in agents if a.email}
        self.index = _index(agents, file_refs)
        self.decisions = decisions or {}
        self._blocks: dict[tuple[str, ...], _Block] = {}

    # -- signals: how one row relates to the certificate's name -------------------------------

    def exact(self, name: CertName) -> list[Agent]:
        """Rows whose name is the certificate's: GN/SN in that order, a bare CN in either."""
        if not name.key:
            return []
        found = (self.index.by_ordered if name.ordered else self.index.by_name).get(name.key)
        return list(found or ())

    def exact_in_org(self, info: CertInfo, name: CertName) -> list[Agent]:
        """Rows with the certificate's exact name in its organisation."""
        return [a for a in _near_org(info, self.exact(name)) if org_relation(info, a) is Org.SAME]

    def spelled(
        self,
        name: CertName,
        skip: Set[int] = frozenset(),
        *,
        whole: bool = False,
        sirens: Set[str] = frozenset(),
    ) -> list[Agent]:
        """Rows whose e-mail spells the certificate's name and whose first name fits it.

        With `whole`, the row's first name must be the certificate's whole given name ("Jean"
        does not compete for "Jean-Marie"): what it takes to compete with a row that has the
        exact name. With `sirens`, only rows of those SIRENs (or without one) are looked at.
        """
        found: dict[int, Agent] = {}
        by_local = self.index.by_local
        for given, surname in name.cuts():
            first = compact(given)
            for local in spellings(given, surname):
                for agent in by_local.get(local, ()):
                    if agent.row in skip or (sirens and agent.siren not in sirens):
                        continue
                    if self._spells(agent, given, first, whole):
                        found[agent.row] = agent
        return list(found.values())

    @staticmethod
    def _spells(agent: Agent, given: str, first: str, whole: bool) -> bool:
        return compact(agent.prenom) == first if whole else given_fits(agent.prenom, given)

    def email_spells(self, name: CertName, agent: Agent) -> bool:
        """Whether this row's e-mail spells the certificate's name (its first name fitting)."""
        local = local_key(agent.email_key)
        return any(
            local in spellings(given, surname) and given_fits(agent.prenom, given)
            for given, surname in name.cuts()
        )

    def spells_own_name(self, agent: Agent) -> bool:
        """The row's e-mail spells the row's own name: a personal address, not a mailbox."""
        local = local_key(agent.email_key)
        variants = surname_variants(agent.nom)
        return any(local in spellings(agent.prenom, s, bare=True) for s in variants)

    def fit(self, info: CertInfo, name: CertName, agent: Agent) -> str:
        """Why the certificate's name does not contradict this row (French), or ''."""
        if not name.key:
            return "le certificat ne porte pas de nom"
        keys = self.index.okeys if name.ordered else self.index.keys
        if name.key in keys[agent.row]:
            return "nom identique"
        if self.email_spells(name, agent):
            return "nom écrit par l'e-mail de la liste"
        score = max((fuzz.ratio(name.key, k) for k in keys[agent.row]), default=0.0)
        if score >= AGREEMENT_MIN:
            return f"nom proche ({score:.0f}/100)"
        # "T. DUBOIS" for Thomas DUBOIS: an initial only, and the whole surname.
        initial = compact(agent.prenom)[:1]
        # Raw words: "M." is an initial here, not a civility.
        words = [name.given, name.surname] if name.ordered else fold(name.common).split(" ")
        given, surname = fold(words[0]).replace(" ", ""), "".join(compact(w) for w in words[1:])
        if given == initial and surname in surname_variants(agent.nom):
            return "initiale et nom"
        return ""

    # -- rules on the content, in the policy's order -------------------------------------------

    def _email_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Rule 3: the certificate's e-mail is a row's, and its name does not contradict it."""
        rows = self._by_email(info)
        if not rows:
            return None
        fitting = [(a, why) for a in rows if (why := self.fit(info, name, a))]
        if len(fitting) == 1:
            agent, why = fitting[0]
            return Verdict((agent,), Method.EMAIL, checked=(f"nom du certificat : {why}",))
        if fitting:
            return _held(
                Code.MATCH_AMBIGUOUS,
                (a for a, _ in fitting),
                Method.EMAIL,
                candidates=_who_why([(a, f"même e-mail, {w}") for a, w in fitting]),
            )
        named = [a for a in self.exact(name) if a.row not in _rows(rows)]
        side = f" ; ce nom est celui de {_who(named)}" if named else ""
        return _held(
            Code.MATCH_EMAIL_NAME_MISMATCH,
            [*rows, *named],
            Method.EMAIL,
            email=", ".join(info.emails),
            email_agent=_who(rows),
            name_side=side,
        )

    def _name_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Rules 4–5: the exact name, or a roster e-mail spelling it, in the organisation."""
        same = [(a, "nom identique, même organisme") for a in self.exact_in_org(info, name)]
        exact_rows = _rows(a for a, _ in same)
        # A roster e-mail that spells the certificate's name and not the row's own name (birth
        # name, typo in the roster) is evidence too; when it spells the row's own name, it
        # says nothing more than the row's name already does. Against an exact name, it must
        # spell the whole first name to make a tie.
        same += [
            (a, "nom écrit par son e-mail, même organisme")
            for a in self.spelled(name, exact_rows, whole=bool(exact_rows), sirens=_sirens(info))
            if org_relation(info, a) is Org.SAME and not self.spells_own_name(a)
        ]
        if len(same) == 1:
            agent, _ = same[0]
            method = Method.NAME_ORG if agent.row in exact_rows else Method.EMAIL_LOCAL
            return Verdict((agent,), method, checked=("aucun autre candidat dans l'organisme",))
        if same:
            return _held(
                Code.MATCH_AMBIGUOUS,
                (a for a, _ in same),
                Method.NAME_ORG,
                candidates=_who_why(same),
            )
        exact = self.exact(name)
        unknown = [a for a in exact if org_relation(info, a) is Org.UNKNOWN]
        if len(unknown) == 1 and len(exact) == 1:
            checked = ("seul agent de ce nom dans la liste", "organisme non comparable")
            return Verdict((unknown[0],), Method.NAME, checked=checked)
        if unknown:
            pairs = [(a, f"nom identique, organisme {_roster_org(a)}") for a in exact]
            return _held(Code.MATCH_AMBIGUOUS, exact, Method.NAME, candidates=_who_why(pairs))
        return None

    def _near_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Rule 6: a near name in the organisation, unless a roster e-mail or namesake says no."""
        found, score, method = self._fuzzy(name, self._block(info, name.ordered))
        if not found:
            return None
        if method is Method.REVIEW or len(found) > 1:
            pairs = [(a, f"{method}, meilleur score {score:.0f}/100") for a in found]
            return _held(Code.MATCH_AMBIGUOUS, found, method, candidates=_who_why(pairs))
        agent = found[0]
        elsewhere = self.exact(name)
        if elsewhere:
            pairs = [(agent, f"{method}, même organisme")]
            pairs += [(a, f"nom identique, organisme {_roster_org(a)}") for a in elsewhere]
            return _held(
                Code.MATCH_AMBIGUOUS, [agent, *elsewhere], method, candidates=_who_why(pairs)
            )
        if method is Method.FUZZY and self.spells_own_name(agent):
            return _held(
                Code.MATCH_NEAR_NAME_CONTRADICTED,
                [agent],
                method,
                candidate=_who([agent]),
                score=f"{score:.0f}",
                email=agent.email,
            )
        checked = ["aucun homonyme exact ailleurs"]
        if method is Method.FUZZY:
            checked += [f"{FUZZY_MARGIN:.0f} points d'avance", "e-mail de la liste non contraire"]
        return Verdict((agent,), method, score if method is Method.FUZZY else None, tuple(checked))

    def _elsewhere_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Contradiction: the name is only found in other organisations: held, never a guess."""
        exact = self.exact(name)
        if not exact:
            return None
        return _held(
            Code.MATCH_OTHER_ORGANISATION,
            exact,
            Method.NAME,
            cert_org=_cert_org(info) or "non indiqué",
            candidates=_who(exact),
            roster_org=", ".join(dict.fromkeys(_roster_org(a) for a in exact)),
        )

    def content(self, info: CertInfo, name: CertName) -> Verdict:
        """What the certificate's content designates, strongest evidence first."""
        for rule in (self._email_rule, self._name_rule, self._near_rule, self._elsewhere_rule):
            verdict = rule(info, name)
            if verdict is not None:
                return verdict
        return Verdict((), Method.NAME)

    # -- lookups --------------------------------------------------------------------------------

    def _by_email(self, info: CertInfo) -> list[Agent]:
        found: dict[int, Agent] = {}
        for email in info.emails:
            for agent in self.index.by_email.get(email.casefold(), ()):
                found[agent.row] = agent
        return list(found.values())

    def _block(self, info: CertInfo, ordered: bool) -> _Block | None:
        """Rows of the certificate's organisation: by SIREN/SIRET, else by organisation name."""
        keys_of = self.index.okeys if ordered else self.index.keys
        sirens = tuple(dict.fromkeys(i[:9] for i in info.org_ids))
        if sirens:
            cache_key = ("siren", str(ordered), *info.org_ids)
            if cache_key not in self._blocks:
                rows: dict[int, Agent] = {}
                for siren in sirens:
                    for agent in self.index.by_siren.get(siren, ()):
                        if org_relation(info, agent) is Org.SAME:
                            rows[agent.row] = agent
                self._blocks[cache_key] = _Block.of(list(rows.values()), keys_of)
            block = self._blocks[cache_key]
            if block.agents:
                return block
        if info.organisation:
            org = compact(info.organisation)
            cache_key = ("org", str(ordered), org)
            if cache_key not in self._blocks:
                agents = [
                    a
                    for a in self.index.by_org_name.get(org, ())
                    if org_relation(info, a) is Org.SAME
                ]
                self._blocks[cache_key] = _Block.of(agents, keys_of)
            return self._blocks[cache_key]
        return None

    def _fuzzy(self, name: CertName, block: _Block | None) -> tuple[list[Agent], float, Method]:
        """Best row in the block by fuzzy score, with a strict threshold and a clear lead."""
        key = name.key
        if block is None or not block.agents or not key:
            return [], 0.0, Method.FUZZY
        keys, owners = block.keys, block.owners
        # rapidfuzz scores the whole block in C; only rows near the top matter.
        best_of: dict[int, float] = {}
        for _key, score, index in process.extract(
            key, keys, scorer=fuzz.ratio, limit=None, score_cutoff=FUZZY_REVIEW - FUZZY_MARGIN
        ):
            owner = owners[index]
            best_of[owner] = max(score, best_of.get(owner, 0.0))
        scored = sorted(((score, block.by_row[row]) for row, score in best_of.items()),
                        key=lambda pair: (-pair[0], pair[1].row))  # fmt: skip
        best = scored[0][0] if scored else 0.0
        second = scored[1][0] if len(scored) > 1 else 0.0
        if best >= FUZZY_ACCEPT and best - second >= FUZZY_MARGIN:
            return [scored[0][1]], best, Method.FUZZY
        if best >= FUZZY_ACCEPT:
            return [a for s, a in scored if best - s < FUZZY_MARGIN], best, Method.FUZZY
        partial = self._partial(name, block)
        if partial:
            return partial, 0.0, Method.PARTIAL
        if best >= FUZZY_REVIEW:
            # The review zone: never a match; the candidates are named in the hold.
            return [a for s, a in scored if best - s < FUZZY_MARGIN], best, Method.REVIEW
        return [], best, Method.FUZZY

    @staticmethod
    def _partial(name: CertName, block: _Block) -> list[Agent]:
        """Compound first name on one side only ("Jean-Marie DUPONT" for roster "Jean DUPONT").

        The surname must be whole and the roster's first given name one of the certificate's.
        """
        found: list[Agent] = []
        for given, surname in name.cuts():
            given_words = tokens(given)
            found += [
                a for a in block.by_surname.get(surname, ()) if first_given(a.prenom) in given_words
            ]
        return _unique(found)

    # -- file-side hints -------------------------------------------------------------------------

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
                    **_stored_action(decision),
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
        if file_agents and agent.row not in _rows(file_agents):
            self._file_names_other(result, path, name, verdict, agent, file_agents, base)
        else:
            said = "nom du fichier concordant" if file_agents else "nom du fichier non contraire"
            self._attribute(result, path, name, verdict, agent, said)

    def _attribute(
        self,
        result: MatchResult,
        path: str,
        name: CertName,
        verdict: Verdict,
        agent: Agent,
        file_check: str,
    ) -> None:
        checked = (*verdict.checked, file_check)
        result.matches.append(
            Match(path, (agent.row,), verdict.method, verdict.score, checked, name.identity)
        )

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
        named_rows = _rows(named)
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
        self._conflict(
            result, path, base, verdict, disagreeing or list(named), "la colonne Fichier"
        )

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
            and by_file_email.row in _rows(verdict.agents)
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
                params={**base, **verdict.params, "candidate_emails": _emails(verdict.agents)},
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
            self._conflict(result, path, base, verdict, [by_file_email], "le nom du fichier")
            return
        result.findings.append(Finding(Code.MATCH_ORPHAN_FILE, file=path, params=base))

    def _file_names_other(
        self,
        result: MatchResult,
        path: str,
        name: CertName,
        verdict: Verdict,
        agent: Agent,
        file_agents: Sequence[Agent],
        base: dict[str, str],
    ) -> None:
        """A file named after someone else: strong content wins with a warning; weak is held."""
        if TIER_OF[verdict.method] < Tier.STRONG:
            self._conflict(result, path, base, verdict, file_agents, "le nom du fichier")
            return
        self._attribute(result, path, name, verdict, agent, "nom du fichier contraire, signalé")
        result.findings.append(
            Finding(
                Code.MATCH_FILE_NAMES_OTHER_AGENT,
                file=path,
                params={
                    **base,
                    "file_agent": _who(file_agents),
                    "file_agent_short": ", ".join(a.display_name for a in file_agents),
                    "content_signal": str(verdict.method),
                    "content_agent": _who([agent]),
                },
            )
        )

    def _conflict(
        self,
        result: MatchResult,
        path: str,
        base: dict[str, str],
        verdict: Verdict,
        other: Sequence[Agent],
        other_signal: str,
    ) -> None:
        result.hold(path, [*verdict.agents, *other])
        result.findings.append(
            Finding(
                Code.MATCH_CONFLICT,
                file=path,
                params={
                    **base,
                    "content_signal": str(verdict.method),
                    "content_agent": _who(verdict.agents),
                    "other_signal": other_signal,
                    "other_agent": _who(other),
                    "candidate_emails": _emails([*verdict.agents, *other]),
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
                self._match_file(cf, cf.cert, result)
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
