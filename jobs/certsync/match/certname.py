"""The certificate's side of matching: the holder's name and its organisation against a row."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from certsync.names import compact, given_and_surname, tokens
from certsync.records import Agent, CertInfo


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


def near_org(info: CertInfo, agents: list[Agent]) -> list[Agent]:
    """Rows that may be in the certificate's organisation, by a quick look at the SIREN.

    A common name, and the e-mail `prenom.nom` that goes with it, has namesakes in many places.
    """
    sirens = cert_sirens(info)
    return [a for a in agents if a.siren in sirens] if sirens else agents


def cert_sirens(info: CertInfo) -> frozenset[str]:
    """The certificate's SIRENs, plus "" for rows without one; empty when it has none."""
    return _sirens_of(info.org_ids)


@lru_cache(maxsize=4096)
def _sirens_of(org_ids: tuple[str, ...]) -> frozenset[str]:
    return frozenset((*(i[:9] for i in org_ids), "")) if org_ids else frozenset()


def cert_org(info: CertInfo) -> str:
    ids = ", ".join(info.org_ids)
    return f"{info.organisation} ({ids})" if info.organisation and ids else info.organisation or ids


def roster_org(agent: Agent) -> str:
    ident = agent.siret or agent.siren
    if agent.organisation and ident:
        return f"{agent.organisation} ({ident})"
    return agent.organisation or ident or "non indiqué"
