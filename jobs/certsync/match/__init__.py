"""Matching certificate files to roster rows, rule by rule as the README's attribution policy says.

Evidence, strongest first: a decision, the roster's file column, the certificate's e-mail, its
name (GN and SN, else CN) in the agent's organisation, the roster e-mail spelling that name,
then a near name in the organisation. Each rule checks what could contradict it; a tie or a
contradiction holds the file and names every candidate with the evidence on each side.

Modules: `records` (methods, a match, the administrator's decision, the result), `certname`
(the certificate's side), `roster` (the roster's index), `signals` (name and e-mail evidence),
`rules` (the content rules), `holds` (holds and their findings), `matcher` (the per-file rules).
"""

from certsync.match.certname import CertName, Org, cert_name, org_relation
from certsync.match.matcher import Matcher
from certsync.match.records import (
    TIER_OF,
    AdminDecision,
    Match,
    MatchResult,
    Method,
    Tier,
    Verdict,
    combine,
)
from certsync.match.signals import AGREEMENT_MIN, FUZZY_ACCEPT, FUZZY_MARGIN, FUZZY_REVIEW

__all__ = [
    "AGREEMENT_MIN",
    "FUZZY_ACCEPT",
    "FUZZY_MARGIN",
    "FUZZY_REVIEW",
    "TIER_OF",
    "AdminDecision",
    "CertName",
    "Match",
    "MatchResult",
    "Matcher",
    "Method",
    "Org",
    "Tier",
    "Verdict",
    "cert_name",
    "combine",
    "org_relation",
]
