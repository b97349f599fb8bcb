"""Per organisation: every agent already on the socle written back unchanged, plus the newcomers.

Why everybody: the socle's report (`Report.constructAgentsListToDelete`) lists "à supprimer"
every enabled agent of the organisation that is not in the file, with a "Tout supprimer"
button (`DeleteList.onDeleteAll`, a soft delete synchronised to the other applications).
Agents in the file and on the socle (`findAllByListOfEmailsAndOrganism`, enabled only) are
"à modifier" whatever their values; `ModifyList.prepareAndUpdateAgent` then writes the file's
values, with the organisation's address where the file's is empty
(`Report.setAddressOfAgentToModify`) and the e-mail as login.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from certsync.errors import UsageError
from certsync.findings import Code, Finding, finding
from certsync.fsutil import atomic_write_bytes
from certsync.onboarding import rules
from certsync.onboarding.existing import ExistingAgent, Organisation, read_export
from certsync.onboarding.newcomers import Newcomer, adapt, read_extras
from certsync.records import Agent
from certsync.roster import read_roster
from certsync.roster.columns import header_key

# Characters the socle's CSV reader (opencsv 2.0) does not give back as written: quotes and
# backslashes are its quote and escape characters; a line break would need quoting it may
# count as two lines.
_UNSAFE = re.compile(r'["\\\r\n]')


@dataclass(frozen=True, slots=True)
class ImportFile:
    """One file to import, and what the socle's report will say about it."""

    path: Path
    part: int
    parts: int
    existing: int
    """Agents on the socle written back ("existe(nt) à la fois dans l'import et sur myec3")."""
    created: int
    """Newcomers ("existe(nt) dans l'import mais pas sur myec3": à créer)."""
    to_delete: int
    """Enabled agents of the organisation not in this file ("à supprimer")."""
    records: int
    size: int


@dataclass(frozen=True, slots=True)
class OrganisationPlan:
    """What `certsync onboarding` prepared for one organisation."""

    organisation: Organisation
    files: tuple[ImportFile, ...]
    on_socle: int
    """Enabled agents of the organisation in the export."""
    newcomers: tuple[Newcomer, ...]
    left_out: tuple[ExistingAgent, ...]
    """Agents on the socle that cannot be written back: listed "à supprimer", must not be."""
    would_change: tuple[ExistingAgent, ...]
    """Written back, but "Modifier des utilisateurs" would still change something."""
    already_present: int
    """Roster agents already on the socle in this organisation."""

    @property
    def modified(self) -> int:
        """Agents whose stored values the file would change: none is ever written changed."""
        return 0


@dataclass(frozen=True, slots=True)
class Onboarding:
    """The whole preparation: plans, findings (roster rows and socle accounts)."""

    plans: tuple[OrganisationPlan, ...]
    findings: tuple[Finding, ...]
    roster_agents: int
    out_dir: Path
    elsewhere: int = 0
    """Roster agents of other organisations than the one asked for (--organisation)."""


def prepare(
    roster_path: Path,
    export_paths: Sequence[Path],
    out_dir: Path,
    *,
    organisation: str | None = None,
    sheet: str | None = None,
) -> Onboarding:
    """Read the roster and the export, write one import file (or more) per organisation."""
    existing = [agent for path in export_paths for agent in read_export(path)]
    organisations = {a.organisation.id: a.organisation for a in existing}
    selected = _select(list(organisations.values()), organisation)
    roster = read_roster(roster_path, sheet=sheet)
    extras = read_extras(roster_path, sheet)
    findings: list[Finding] = list(roster.findings)
    blocked = {f.row for f in roster.findings if f.blocking}
    by_email: dict[str, list[ExistingAgent]] = {}
    for account in existing:
        by_email.setdefault(account.email.casefold(), []).append(account)
    newcomers: dict[str, list[Newcomer]] = {o.id: [] for o in selected}
    present: dict[str, int] = {o.id: 0 for o in selected}
    elsewhere = 0
    for agent in roster.agents:
        if agent.row in blocked:
            continue
        target = _target(agent, selected, list(organisations.values()), organisation)
        if target is False:
            elsewhere += 1  # another organisation than the one asked for
            continue
        hits = by_email.get(agent.email.casefold(), [])
        if hits:
            findings.extend(_known(agent, hits, target, present))
            continue
        if target is None:
            where = agent.organisation or agent.siren or "non indiqué"
            findings.append(_row(agent, Code.ONBOARD_NO_ORGANISATION, organisation=where))
            continue
        newcomer, adapted = adapt(agent, extras.get(agent.row, {}))
        findings.extend(adapted)
        if newcomer is not None:
            newcomers[target.id].append(newcomer)
    plans = []
    for org in selected:
        members = [a for a in existing if a.organisation.id == org.id and a.enabled]
        plan, found = _plan(org, members, newcomers[org.id], present[org.id], out_dir)
        plans.append(plan)
        findings.extend(found)
    return Onboarding(tuple(plans), tuple(findings), len(roster.agents), out_dir, elsewhere)


def _select(orgs: list[Organisation], wanted: str | None) -> list[Organisation]:
    if wanted is None:
        return orgs
    key = wanted.strip()
    chosen = [
        o
        for o in orgs
        if key in (o.id, o.siren) or (o.label and header_key(o.label) == header_key(key))
    ]
    if not chosen:
        known = ", ".join(o.display for o in orgs) or "aucun"
        raise UsageError(
            f"L'organisme « {wanted} » n'est dans aucun des exports donnés.",
            hint=f"Organismes de l'export : {known}. Indiquez son numéro, son SIREN ou son nom.",
        )
    return chosen


def _target(
    agent: Agent,
    selected: Sequence[Organisation],
    every: Sequence[Organisation],
    wanted: str | None,
) -> Organisation | Literal[False] | None:
    """The agent's organisation; False when it is explicitly another one than asked for.

    An agent whose row names no organisation goes to the one asked for, or to the only one.
    """
    named = [o for o in every if agent.siren and o.siren == agent.siren]
    if not named and agent.organisation:
        named = [
            o for o in every if o.label and header_key(o.label) == header_key(agent.organisation)
        ]
    if len(named) == 1:
        return named[0] if named[0] in selected else False
    if agent.siren or agent.organisation:
        # An organisation is named but none of the exports has it: never guess another one.
        return None
    if wanted is not None or len(every) == 1:
        return selected[0]
    return None


def _row(agent: Agent, code: Code, **params: object) -> Finding:
    return Finding(
        code, agent.row, None, {"email": agent.email, "name": agent.display_name, **params}
    )


def _known(
    agent: Agent,
    hits: list[ExistingAgent],
    target: Organisation | None,
    present: dict[str, int],
) -> list[Finding]:
    """A roster agent whose e-mail the export already has."""
    enabled = [h for h in hits if h.enabled]
    home = [h for h in enabled if target is None or h.organisation == target]
    if home:
        if home[0].organisation.id in present:
            present[home[0].organisation.id] += 1
        if home[0].user_disabled:
            # Written back unchanged (else the socle's report would list it "à supprimer"),
            # but no certificate can be put on it until it is reactivated.
            return [
                _row(
                    agent, Code.ONBOARD_ACCOUNT_DISABLED, organisation=home[0].organisation.display
                )
            ]
        return []
    if enabled:
        where = enabled[0].organisation.display
        return [_row(agent, Code.ONBOARD_OTHER_ORGANISATION, organisation=where)]
    where = hits[0].organisation.display
    return [_row(agent, Code.ONBOARD_ACCOUNT_DISABLED, organisation=where)]


def _refusal(account: ExistingAgent) -> tuple[str, str, str] | None:
    """(column, value, reason) when the account cannot be written back exactly, else None."""
    for column, value in account.unmapped:
        return column, value, "valeur de l'export que l'import ne sait pas écrire"
    for key, value in zip(rules.KEYS, account.values, strict=True):
        if _UNSAFE.search(value):
            return rules.LABELS[key], value, "guillemet, barre oblique inverse ou retour à la ligne"
    for key, problem in rules.check_line(account.values):
        value = account.values[rules.KEYS.index(key)]
        if problem is rules.Problem.REQUIRED:
            return rules.LABELS[key], value, "champ obligatoire vide"
        return rules.LABELS[key], value, rules.MESSAGES[key]
    return None


def _changes(account: ExistingAgent) -> list[str]:
    """What ModifyList would still change when the account's values are written back."""
    changes = []
    if not all(account.values[5:8]):
        changes.append("adresse, code postal ou ville vides remplacés par ceux de l'organisme")
    if account.username and not rules.java_equals_ignore_case(account.username, account.email):
        changes.append(f"identifiant « {account.username} » remplacé par l'e-mail")
    if account.country not in ("", "FR"):
        changes.append(f"pays « {account.country} » remplacé par FR")
    if not account.values[3]:
        changes.append("« élu » vide enregistré « non »")
    return changes


def _plan(
    org: Organisation,
    members: list[ExistingAgent],
    newcomers: list[Newcomer],
    already_present: int,
    out_dir: Path,
) -> tuple[OrganisationPlan, list[Finding]]:
    """One organisation: which existing agents can be written back, and its import files."""
    found: list[Finding] = []
    kept: list[ExistingAgent] = []
    left_out: list[ExistingAgent] = []
    would_change: list[ExistingAgent] = []
    for account in members:
        refused = _refused_finding(org, account)
        if refused is not None:
            left_out.append(account)
            found.append(refused)
            continue
        kept.append(account)
        changes = _changes(account)
        if changes:
            would_change.append(account)
            found.append(
                finding(
                    Code.ONBOARD_EXISTING_WOULD_CHANGE,
                    email=account.email,
                    name=account.name,
                    changes=" ; ".join(changes),
                    organisation=org.display,
                )
            )
    files: tuple[ImportFile, ...] = ()
    if newcomers:
        lines = [(a.values, True) for a in kept] + [(n.values, False) for n in newcomers]
        files = _write(org, lines, len(members), out_dir)
        found.extend(_split_findings(org, files))
    plan = OrganisationPlan(
        org,
        files,
        len(members),
        tuple(newcomers),
        tuple(left_out),
        tuple(would_change),
        already_present,
    )
    return plan, found


def _refused_finding(org: Organisation, account: ExistingAgent) -> Finding | None:
    """ONBOARD_EXISTING_REFUSED when the importer would refuse the account's own values."""
    refusal = _refusal(account)
    if refusal is None:
        return None
    column, value, reason = refusal
    return finding(
        Code.ONBOARD_EXISTING_REFUSED,
        email=account.email,
        name=account.name,
        column=column,
        value=value,
        reason=reason,
        organisation=org.display,
        profil_id=account.profil_id,
    )


def _split_findings(org: Organisation, files: tuple[ImportFile, ...]) -> list[Finding]:
    """ONBOARD_FILE_SPLIT for each part when the organisation needs several files."""
    if len(files) < 2:
        return []
    return [
        finding(
            Code.ONBOARD_FILE_SPLIT,
            file=f.path.name,
            organisation=org.display,
            parts=f.parts,
            to_delete=f.to_delete,
        )
        for f in files
    ]


def _cell(value: str) -> str:
    return f'"{value}"' if ";" in value else value


def _encode(values: Sequence[str]) -> bytes:
    return (";".join(_cell(v) for v in values) + "\n").encode("utf-8")


def _write(
    org: Organisation,
    lines: list[tuple[tuple[str, ...], bool]],
    on_socle: int,
    out_dir: Path,
) -> tuple[ImportFile, ...]:
    """Split by the importer's limits (records with the header, bytes) and write each part."""
    header = _encode(rules.HEADER)
    parts: list[list[tuple[bytes, bool]]] = [[]]
    size = len(header)
    for values, existing in lines:
        assert not rules.check_line(values), values
        data = _encode(values)
        if len(parts[-1]) + 2 > rules.MAX_RECORDS or size + len(data) > rules.MAX_BYTES:
            parts.append([])
            size = len(header)
        parts[-1].append((data, existing))
        size += len(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"import-{_slug(org.id)}-{_slug(org.label)}".rstrip("-")
    files = []
    for number, part in enumerate(parts, start=1):
        name = f"{stem}.csv" if len(parts) == 1 else f"{stem}-partie-{number}.csv"
        body = header + b"".join(data for data, _ in part)
        atomic_write_bytes(out_dir / name, body)
        kept = sum(1 for _, is_existing in part if is_existing)
        files.append(
            ImportFile(
                path=out_dir / name,
                part=number,
                parts=len(parts),
                existing=kept,
                created=len(part) - kept,
                to_delete=on_socle - kept,
                records=len(part) + 1,
                size=len(body),
            )
        )
    return tuple(files)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40]
