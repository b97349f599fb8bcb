"""The one flattening of a run's result into report rows, in a stable order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from certsync.findings import Code, Finding
from certsync.records import AgentStatus, FileStatus, RunResult

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
DECIDABLE = frozenset({Code.MATCH_AMBIGUOUS, Code.MATCH_CONFLICT, Code.MATCH_ORPHAN_FILE})


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


def finding_rows(result: RunResult) -> list[Row]:
    """Every finding of the run: general ones, then rows in roster order, then files by path."""
    out: list[Row] = []
    sha_of_file = {f.file: f.sha256 or "" for f in result.files}

    def add(f: Finding, agent: str = "", email: str = "", sha: str = "") -> None:
        out.append(
            Row(
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
            )
        )

    for f in result.general:
        add(f)
    for a in result.agents:
        for f in a.findings:
            add(f, a.agent.display_name, a.agent.email, a.sha256 or "")
    for fr in result.files:
        for f in fr.findings:
            add(f, fr.common_name, "", fr.sha256 or "")
    return out


def summary_rows(result: RunResult) -> list[tuple[str, str | int]]:
    """The summary sheet: run parameters, notices and counts (French labels)."""
    rows: list[tuple[str, str | int]] = [
        ("Exécution", result.run_id),
        ("Date de référence", result.as_of.strftime("%d/%m/%Y")),
        ("Mode", "simulation (rien n'est déposé)" if result.dry_run else "dépôt réel"),
    ]
    rows.extend(result.parameters.items())
    for notice in result.notices:
        rows.append(("ATTENTION", notice))
    rows.append(("", ""))
    rows.append(("Agents dans la liste", len(result.agents)))
    agent_counts = Counter(a.status for a in result.agents)
    for status, label in AGENT_STATUS_FR.items():
        if agent_counts.get(status):
            rows.append((f"Agents : {label}", agent_counts[status]))
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
