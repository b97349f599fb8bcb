"""The one flattening of a run's result into report rows, in a stable order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from certsync.findings import Code, Finding, Severity
from certsync.plan import STEP_FR, plan_counts
from certsync.records import AgentStatus, FileStatus, RunResult, Step

#: Column titles of the findings table, in order (French, as the administrator reads them).
COLUMNS = (
    "Ligne",
    "Fichier",
    "Agent",
    "E-mail",
    "Code",
    "Gravité",
    "Problème",
    "Message",
    "Action",
    "Empreinte SHA-256",
)

#: The workbook's column where the administrator settles a held or orphan certificate.
DECISION_HEADER = "Décision"
#: The choice that tells certsync never to use a certificate.
IGNORE_CHOICE = "ignorer"

AGENT_STATUS_FR = {
    AgentStatus.WOULD_PUSH: "à déposer (simulation)",
    AgentStatus.PUSHED: "déposé",
    AgentStatus.UNCHANGED: "déjà présent",
    AgentStatus.BLOCKED: "bloqué",
    AgentStatus.NO_CERTIFICATE: "sans certificat",
    AgentStatus.FAILED: "échec du dépôt",
    AgentStatus.NO_ACCOUNT: "compte absent",
}
FILE_STATUS_FR = {
    FileStatus.USED: "utilisé",
    FileStatus.REJECTED: "refusé",
    FileStatus.ORPHAN: "sans agent",
    FileStatus.DUPLICATE: "doublon",
    FileStatus.SUPERSEDED: "remplacé par un plus récent",
    FileStatus.HELD: "en attente de décision",
}


#: Findings about a certificate that waits for the administrator's decision.
DECIDABLE = frozenset(
    {
        Code.MATCH_AMBIGUOUS,
        Code.MATCH_CONFLICT,
        Code.MATCH_ORPHAN_FILE,
        Code.MATCH_OTHER_ORGANISATION,
        Code.MATCH_EMAIL_NAME_MISMATCH,
        Code.MATCH_NEAR_NAME_CONTRADICTED,
    }
)


def decision_choices(f: Finding) -> tuple[str, ...] | None:
    """The candidate e-mails of a held or orphan certificate; None when there is nothing to
    decide."""
    if f.code not in DECIDABLE or f.file is None:
        return None
    emails = f.params.get("candidate_emails", ())
    return tuple(str(e) for e in emails) if isinstance(emails, tuple | list) else ()


@dataclass(frozen=True, slots=True)
class Row:
    """One finding as a report line."""

    row: int | None
    file: str
    agent: str
    email: str
    code: str
    severity: str
    title: str
    message: str
    action: str
    sha256: str
    choices: tuple[str, ...] | None = None
    """For a held or orphan certificate: the e-mails its finding names (the workbook's
    « Décision » drop-down offers them and « ignorer »); None for every other finding."""
    see_file: str = ""
    """For an agent's finding that sends the reader to a file's own finding (held, refused):
    that file, so that the workbook links to its row."""

    def cells(self) -> tuple[int | str, ...]:
        """Values in COLUMNS order."""
        return (
            self.row if self.row is not None else "",
            self.file,
            self.agent,
            self.email,
            self.code,
            self.severity,
            self.title,
            self.message,
            self.action,
            self.sha256,
        )


_SEVERITY_RANK = {Severity.BLOCKING: 0, Severity.WARNING: 1, Severity.INFO: 2}


def finding_rows(result: RunResult) -> list[Row]:
    """Every finding of the run: blocking ones first, then warnings, then information; each
    in roster order (general findings first, a file's at the row it went to, files given to
    no row last by path)."""
    keyed: list[tuple[tuple[int, int, str, int], Row]] = []
    sha_of_file = {f.file: f.sha256 or "" for f in result.files}
    after_rows = 1 + max((a.agent.row for a in result.agents), default=0)

    def add(
        f: Finding, agent: str = "", email: str = "", sha: str = "", at: int = -1, path: str = ""
    ) -> None:
        key = (_SEVERITY_RANK[f.severity], at, path, len(keyed))
        see = f.params.get("see_file")
        keyed.append((key, Row(
                f.row,
                f.file or "",
                agent,
                email,
                f.code,
                f.severity.label,
                f.spec.title,
                f.message(),
                f.action(),
                sha or (sha_of_file.get(f.file, "") if f.file else ""),
                decision_choices(f),
                see if isinstance(see, str) else "",
            )))  # fmt: skip

    for f in result.general:
        add(f)
    for a in result.agents:
        for f in a.findings:
            add(f, a.agent.display_name, a.agent.email, a.sha256 or "", a.agent.row)
    for fr in result.files:
        at = min(fr.rows) if fr.rows else after_rows
        for f in fr.findings:
            add(f, fr.common_name, "", fr.sha256 or "", at, fr.file)
    keyed.sort(key=lambda pair: pair[0])
    return [row for _key, row in keyed]


@dataclass(frozen=True, slots=True)
class AgentLine:
    """One roster row on the workbook's « Agents » sheet."""

    row: int
    name: str
    email: str
    organisation: str
    status: str
    """French status (the plan in a dry run: « à déposer (simulation) »)."""
    file: str
    method: str
    """How the certificate was matched, in French."""
    not_after: date | None
    codes: str


#: Column titles of the « Agents » sheet.
AGENT_COLUMNS = (
    "Ligne",
    "Agent",
    "E-mail",
    "Organisme",
    "Statut",
    "Fichier",
    "Attribution",
    "Fin de validité",
    "Constats",
    "Voir",
)


def agent_lines(result: RunResult) -> list[AgentLine]:
    """Every roster row, in roster order, with its status, match and expiry."""
    return [
        AgentLine(
            a.agent.row,
            a.agent.display_name,
            a.agent.email,
            a.agent.organisation,
            AGENT_STATUS_FR[a.status],
            a.file or "",
            a.method,
            a.not_after.date() if a.not_after else None,
            ", ".join(dict.fromkeys(f.code for f in a.findings)) if a.findings else "",
        )
        for a in result.agents
    ]


def status_counts(result: RunResult) -> list[tuple[str, int]]:
    """Agents per status, every status listed (zeros included), for the summary's chart."""
    counts = Counter(a.status for a in result.agents)
    return [(label, counts.get(status, 0)) for status, label in AGENT_STATUS_FR.items()]


def summary_rows(
    result: RunResult, steps: Counter[Step] | None = None
) -> list[tuple[str, str | int]]:
    """The summary sheet: run parameters, notices and counts (French labels)."""
    rows: list[tuple[str, str | int]] = [
        ("Exécution", result.run_id),
        ("Date de référence", result.as_of.strftime("%d/%m/%Y")),
        ("Mode", "simulation (rien n'est déposé)" if result.dry_run else "dépôt réel"),
    ]
    rows.extend(result.parameters.items())
    for notice in result.notices:
        rows.append(("ATTENTION", notice))
    for f in result.general:
        rows.append((f"Constat général ({f.severity.label})", f"{f.spec.title} : {f.message()}"))
    rows.append(("", ""))
    rows.append(("Agents dans la liste", len(result.agents)))
    agent_counts = Counter(a.status for a in result.agents)
    for status, label in AGENT_STATUS_FR.items():
        if agent_counts.get(status):
            rows.append((f"Agents : {label}", agent_counts[status]))
    steps = plan_counts(result) if steps is None else steps
    for step, label in STEP_FR.items():
        if steps.get(step):
            rows.append((f"Plan : {label}", steps[step]))
    rows.append(("Fichiers lus", len(result.files)))
    file_counts = Counter(f.status for f in result.files)
    for fstatus, label in FILE_STATUS_FR.items():
        if file_counts.get(fstatus):
            rows.append((f"Fichiers : {label}", file_counts[fstatus]))
    severities = Counter(f.severity.label for f in result.all_findings)
    for label in ("bloquant", "avertissement", "information"):
        rows.append((f"Constats ({label})", severities.get(label, 0)))
    return rows


def totals(result: RunResult) -> dict[str, dict[str, int]]:
    """Counts for report.json."""
    return {
        "agents": dict(sorted(Counter(str(a.status) for a in result.agents).items())),
        "files": dict(sorted(Counter(str(f.status) for f in result.files).items())),
        "findings": dict(sorted(Counter(str(f.code) for f in result.all_findings).items())),
        "severity": dict(sorted(Counter(str(f.severity) for f in result.all_findings).items())),
    }
