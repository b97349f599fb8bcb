"""Holds and findings of matching: candidates named in French, conflicts, contrary file names."""

from __future__ import annotations

from collections.abc import Sequence

from certsync.findings import Code, Finding
from certsync.match.certname import CertName
from certsync.match.records import TIER_OF, AdminDecision, Match, MatchResult, Tier, Verdict
from certsync.records import Agent


def stored_action(decision: AdminDecision) -> dict[str, str]:
    """A decision kept in the state is corrected with `certsync decisions`, not in a file."""
    if not decision.source:
        return {}
    return {
        "action": f"Retirez la décision (certsync decisions remove {decision.sha256}) ou "
        "remettez l'agent dans la liste, puis relancez."
    }


def emails_of(agents: Sequence[Agent]) -> tuple[str, ...]:
    """The candidates' e-mails, for the workbook's « Décision » drop-down."""
    return tuple(dict.fromkeys(a.email for a in agents))


def who(agents: Sequence[Agent]) -> str:
    """The candidates by name, e-mail and row, for a finding (French)."""
    if not agents:
        return "personne de la liste"
    return ", ".join(f"{a.display_name} <{a.email}> (ligne {a.row})" for a in agents)


def who_why(pairs: Sequence[tuple[Agent, str]]) -> str:
    """Candidates with the evidence for each: what a hold shows the administrator."""
    return ", ".join(f"{a.display_name} <{a.email}> (ligne {a.row} : {why})" for a, why in pairs)


def attribute(
    result: MatchResult,
    path: str,
    name: CertName,
    verdict: Verdict,
    agent: Agent,
    file_check: str,
) -> None:
    """Give the file to the one agent the content designates, with what was checked."""
    checked = (*verdict.checked, file_check)
    result.matches.append(
        Match(path, (agent.row,), verdict.method, verdict.score, checked, name.identity)
    )


def file_names_other(
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
        conflict(result, path, base, verdict, file_agents, "le nom du fichier")
        return
    attribute(result, path, name, verdict, agent, "nom du fichier contraire, signalé")
    result.findings.append(
        Finding(
            Code.MATCH_FILE_NAMES_OTHER_AGENT,
            file=path,
            params={
                **base,
                "file_agent": who(file_agents),
                "file_agent_short": ", ".join(a.display_name for a in file_agents),
                "content_signal": str(verdict.method),
                "content_agent": who([agent]),
            },
        )
    )


def conflict(
    result: MatchResult,
    path: str,
    base: dict[str, str],
    verdict: Verdict,
    other: Sequence[Agent],
    other_signal: str,
) -> None:
    """Hold a file whose content and another signal designate different agents."""
    result.hold(path, [*verdict.agents, *other])
    result.findings.append(
        Finding(
            Code.MATCH_CONFLICT,
            file=path,
            params={
                **base,
                "content_signal": str(verdict.method),
                "content_agent": who(verdict.agents),
                "other_signal": other_signal,
                "other_agent": who(other),
                "candidate_emails": emails_of([*verdict.agents, *other]),
            },
        )
    )
