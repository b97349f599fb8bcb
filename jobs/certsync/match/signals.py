"""Evidence signals of matching: how a roster row's name and e-mail relate to the certificate."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set

from rapidfuzz import fuzz, process

from certsync.match.certname import CertName, Org, near_org, org_relation
from certsync.match.records import Method
from certsync.match.roster import Block, index_roster, unique
from certsync.names import (
    compact,
    filename_key,
    first_given,
    fold,
    given_fits,
    local_key,
    spellings,
    surname_variants,
    tokens,
)
from certsync.records import Agent, CertInfo

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


class Signals:
    """The roster indexed once, and the evidence it gives about one certificate."""

    def __init__(self, agents: Sequence[Agent], *, file_refs: Mapping[int, str]) -> None:
        self.by_email_key = {a.email_key: a for a in agents if a.email}
        self.index = index_roster(agents, file_refs)
        self._blocks: dict[tuple[str, ...], Block] = {}

    # -- signals: how one row relates to the certificate's name -------------------------------

    def exact(self, name: CertName) -> list[Agent]:
        """Rows whose name is the certificate's: GN/SN in that order, a bare CN in either."""
        if not name.key:
            return []
        found = (self.index.by_ordered if name.ordered else self.index.by_name).get(name.key)
        return list(found or ())

    def exact_in_org(self, info: CertInfo, name: CertName) -> list[Agent]:
        """Rows with the certificate's exact name in its organisation."""
        return [a for a in near_org(info, self.exact(name)) if org_relation(info, a) is Org.SAME]

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

    # -- lookups --------------------------------------------------------------------------------

    def _by_email(self, info: CertInfo) -> list[Agent]:
        found: dict[int, Agent] = {}
        for email in info.emails:
            for agent in self.index.by_email.get(email.casefold(), ()):
                found[agent.row] = agent
        return list(found.values())

    def _block(self, info: CertInfo, ordered: bool) -> Block | None:
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
                self._blocks[cache_key] = Block.of(list(rows.values()), keys_of)
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
                self._blocks[cache_key] = Block.of(agents, keys_of)
            return self._blocks[cache_key]
        return None

    def _fuzzy(self, name: CertName, block: Block | None) -> tuple[list[Agent], float, Method]:
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
    def _partial(name: CertName, block: Block) -> list[Agent]:
        """Compound first name on one side only ("Jean-Marie DUPONT" for roster "Jean DUPONT").

        The surname must be whole and the roster's first given name one of the certificate's.
        """
        found: list[Agent] = []
        for given, surname in name.cuts():
            given_words = tokens(given)
            found += [
                a for a in block.by_surname.get(surname, ()) if first_given(a.prenom) in given_words
            ]
        return unique(found)

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
