"""The summary e-mail to the administrator after a run: counts, what is new, the plan, the report.

French, HTML with a plain-text alternative, the workbook attached when small enough. What is
new is found by comparing with the previous run's report.json (new problems, pushes,
renewals, and in a dry run the certificates newly planned); a run with nothing new sends
nothing unless `[report] email_always` asks for it.
"""

from __future__ import annotations

import html
import json
import logging
import os
import smtplib
import ssl
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any

from certsync.config import Config
from certsync.errors import CertsyncError
from certsync.findings import Code, Finding, Severity
from certsync.french import plural
from certsync.notify import _connect
from certsync.records import AgentStatus, RunResult
from certsync.report.rows import AGENT_STATUS_FR, FILE_STATUS_FR
from certsync.state import StateStore

log = logging.getLogger(__name__)

#: Longest list shown in the e-mail; the rest is counted and left to the workbook.
_LIST_MAX = 30
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a list in the e-mail: who or what, and what about it."""

    who: str
    what: str


@dataclass(frozen=True, slots=True)
class News:
    """What changed since the previous run."""

    previous: str | None
    """The previous run's id; None for a first run (everything is new)."""
    problems: tuple[Item, ...]
    """Blocking findings and warnings that the previous run did not have."""
    pushed: tuple[Item, ...]
    renewed: tuple[Item, ...]
    planned: tuple[Item, ...]
    """In a dry run: certificates that would be pushed and were not planned last time."""
    plan: tuple[Item, ...] = ()
    """In a dry run: every certificate that would be pushed, the new ones marked."""

    @property
    def any(self) -> bool:
        """Whether there is anything to tell."""
        return bool(self.problems or self.pushed or self.renewed or self.planned)


def previous_report(store: StateStore, run_id: str) -> tuple[str, dict[str, Any]] | None:
    """The report.json of the last `run` before `run_id` that left one, with its run id."""
    for summary in store.last_runs(20):
        if summary.run_id == run_id or summary.command != "run" or not summary.report_path:
            continue
        path = Path(summary.report_path) / "report.json"
        try:
            return summary.run_id, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None


def _keys(report: Mapping[str, Any] | None) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(who, code) of every finding, and (e-mail, SHA-256) planned, in an earlier report."""
    codes: set[tuple[str, str]] = set()
    planned: set[tuple[str, str]] = set()
    if report is None:
        return codes, planned
    for a in report.get("agents", []):
        email = str(a.get("email", "")).casefold()
        codes.update((email, str(c)) for c in a.get("codes", []))
        if a.get("status") == AgentStatus.WOULD_PUSH:
            planned.add((email, str(a.get("sha256"))))
    for f in report.get("files", []):
        codes.update((str(f.get("file", "")), str(c)) for c in f.get("codes", []))
    return codes, planned


def news(result: RunResult, previous: tuple[str, Mapping[str, Any]] | None) -> News:
    """Compare a run with the previous one."""
    seen, planned_before = _keys(previous[1] if previous else None)
    problems: list[Item] = []

    def problem(key: str, who: str, f: Finding) -> None:
        if f.severity is not Severity.INFO and (key, str(f.code)) not in seen:
            problems.append(Item(who, f"{f.spec.title} : {f.message()}"))

    for f in result.general:
        problem("", "Exécution", f)
    pushed, renewed, planned, plan = [], [], [], []
    for a in result.agents:
        who = f"{a.agent.display_name} <{a.agent.email}> (ligne {a.agent.row})"
        for f in a.findings:
            problem(a.agent.email_key, who, f)
            if f.code is Code.CERT_RENEWED and a.status is AgentStatus.PUSHED:
                renewed.append(Item(who, f.message()))
        until = f", valable jusqu'au {a.not_after:%d/%m/%Y}" if a.not_after else ""
        if a.status is AgentStatus.PUSHED:
            pushed.append(Item(who, f"« {a.file} »{until}"))
        elif a.status is AgentStatus.WOULD_PUSH:
            item = Item(who, f"« {a.file} »{until}")
            if (a.agent.email_key, str(a.sha256)) not in planned_before:
                planned.append(item)
                item = Item(who, f"{item.what} (nouveau)")
            plan.append(item)
    for fr in result.files:
        for f in fr.findings:
            problem(fr.file, f"Fichier « {fr.file} »", f)
    return News(
        previous[0] if previous else None,
        tuple(problems),
        tuple(pushed),
        tuple(renewed),
        tuple(planned),
        tuple(plan),
    )


def _counts(result: RunResult) -> list[tuple[str, str]]:
    agents = Counter(a.status for a in result.agents)
    files = Counter(f.status for f in result.files)
    severities = Counter(f.severity for f in result.all_findings)
    return [
        (
            plural(len(result.agents), "agent"),
            ", ".join(f"{AGENT_STATUS_FR[s]} : {agents[s]}" for s in AGENT_STATUS_FR if agents[s]),
        ),
        (
            plural(len(result.files), "fichier"),
            ", ".join(f"{FILE_STATUS_FR[s]} : {files[s]}" for s in FILE_STATUS_FR if files[s]),
        ),
        (
            "Constats",
            ", ".join(
                [
                    plural(severities[Severity.BLOCKING], "bloquant"),
                    plural(severities[Severity.WARNING], "avertissement"),
                    plural(severities[Severity.INFO], "information"),
                ]
            ),
        ),
    ]


def _sections(result: RunResult, found: News) -> list[tuple[str, Sequence[Item]]]:
    since = f"depuis l'exécution {found.previous}" if found.previous else "(première exécution)"
    out: list[tuple[str, Sequence[Item]]] = [
        (f"Nouveaux problèmes {since} : {len(found.problems)}", found.problems),
        (f"Certificats déposés : {len(found.pushed)}", found.pushed),
        (f"Renouvellements : {len(found.renewed)}", found.renewed),
    ]
    if result.dry_run:
        planned = [a for a in result.agents if a.status is AgentStatus.WOULD_PUSH]
        title = (
            f"Plan de la simulation : {plural(len(planned), 'certificat serait déposé', 'certificats seraient déposés')}"  # noqa: E501
            f", dont {plural(len(found.planned), 'nouveau', 'nouveaux')} {since}"
        )
        out.append((title, found.plan))
    return out


def _subject(result: RunResult, found: News, blocking: int) -> str:
    mode = "simulation" if result.dry_run else "exécution"
    parts = []
    if result.dry_run:
        planned = sum(1 for a in result.agents if a.status is AgentStatus.WOULD_PUSH)
        parts.append(plural(planned, "certificat à déposer", "certificats à déposer"))
    else:
        parts.append(plural(len(found.pushed), "dépôt"))
    parts.append(plural(len(found.problems), "nouveau problème", "nouveaux problèmes"))
    if blocking:
        parts.append(plural(blocking, "constat bloquant", "constats bloquants"))
    return f"certsync — {mode} {result.run_id} : " + ", ".join(parts)


def _text(result: RunResult, found: News, report: Path, attached: str, header: list[str]) -> str:
    lines = [*header, ""]
    lines += [f"{label} — {detail}" if detail else label for label, detail in _counts(result)]
    for title, items in _sections(result, found):
        lines += ["", title]
        lines += [f"  - {i.who} : {i.what}" for i in items[:_LIST_MAX]]
        if len(items) > _LIST_MAX:
            lines.append(f"  … et {len(items) - _LIST_MAX} autres (voir le rapport)")
    lines += ["", f"Rapport : {report}", attached, ""]
    return "\n".join(lines)


def _html(result: RunResult, found: News, report: Path, attached: str, header: list[str]) -> str:
    e = html.escape
    out = ['<html><body style="font-family: Calibri, Arial, sans-serif">']
    out += [f"<p>{e(line)}</p>" for line in header if line]
    out.append('<table style="border-collapse: collapse">')
    for label, detail in _counts(result):
        out.append(f"<tr><th align='left'>{e(label)}</th><td>{e(detail)}</td></tr>")
    out.append("</table>")
    for title, items in _sections(result, found):
        out.append(f"<h3>{e(title)}</h3>")
        if items:
            out.append("<ul>")
            out += [f"<li><b>{e(i.who)}</b> : {e(i.what)}</li>" for i in items[:_LIST_MAX]]
            if len(items) > _LIST_MAX:
                out.append(f"<li>… et {len(items) - _LIST_MAX} autres (voir le rapport)</li>")
            out.append("</ul>")
    out.append(f"<p>Rapport : <code>{e(str(report))}</code><br>{e(attached)}</p>")
    out.append("</body></html>")
    return "\n".join(out)


def build_summary(
    result: RunResult,
    found: News,
    report_dir: Path,
    config: Config,
    now: datetime,
) -> EmailMessage:
    """The summary e-mail, with the workbook attached when it is small enough."""
    smtp, settings = config.smtp, config.report
    workbook = report_dir / "exceptions.xlsx"
    size = workbook.stat().st_size if workbook.is_file() else None
    attach = size is not None and size <= settings.attach_max_bytes
    if attach:
        attached = "Le classeur exceptions.xlsx est joint à ce message."
    elif size is not None:
        attached = (
            f"Le classeur exceptions.xlsx ({size // 1000} ko) est trop volumineux pour être "
            "joint : ouvrez-le à l'emplacement ci-dessus."
        )
    else:
        attached = ""
    blocking = sum(1 for f in result.all_findings if f.blocking)
    mode = "simulation : rien n'a été déposé" if result.dry_run else "dépôt réel"
    header = [
        f"Exécution {result.run_id} ({mode}), date de référence {result.as_of:%d/%m/%Y}.",
        *(f"ATTENTION : {n}" for n in result.notices),
    ]
    if not found.any:
        header.append("Rien de nouveau depuis l'exécution précédente.")
    mail = EmailMessage()
    mail["Subject"] = _subject(result, found, blocking)
    mail["From"] = smtp.sender
    mail["To"] = settings.email_to
    mail["Date"] = formatdate(now.timestamp(), localtime=True)
    mail["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(_text(result, found, workbook, attached, header), charset="utf-8")
    mail.add_alternative(_html(result, found, workbook, attached, header), subtype="html")
    if attach:
        maintype, subtype = _XLSX.split("/")
        mail.add_attachment(
            workbook.read_bytes(), maintype=maintype, subtype=subtype, filename="exceptions.xlsx"
        )
    return mail


def recipients(config: Config) -> list[str]:
    """The summary's recipients from `[report] email_to`."""
    return [addr for _name, addr in getaddresses([config.report.email_to]) if addr]


def send_summary(
    result: RunResult,
    previous: tuple[str, Mapping[str, Any]] | None,
    report_dir: Path,
    config: Config,
    now: datetime,
    *,
    tls_context: ssl.SSLContext | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Send the summary if configured and something is new (or always is asked); a French
    line saying what was done, or None when no summary is configured."""
    if not recipients(config):
        return None
    found = news(result, previous)
    if not found.any and not config.report.email_always:
        return "Résumé non envoyé : rien de nouveau depuis l'exécution précédente."
    mail = build_summary(result, found, report_dir, config, now)
    return _deliver(mail, config, tls_context, env)


def _deliver(
    mail: EmailMessage,
    config: Config,
    tls_context: ssl.SSLContext | None,
    env: Mapping[str, str] | None,
) -> str:
    if not config.smtp.host or not config.smtp.sender:
        return (
            "Résumé non envoyé : « [smtp] host » et « [smtp] sender » doivent être remplis "
            "dans la configuration."
        )
    try:
        client = _connect(config.smtp, tls_context, env or os.environ, 30.0)
    except CertsyncError as exc:  # server unreachable, credentials refused: the run succeeded
        return f"Résumé non envoyé : {exc.message}"
    try:
        client.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        return f"Résumé non envoyé : le serveur de messagerie l'a refusé ({exc})."
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()
    return f"Résumé envoyé à {', '.join(recipients(config))}."


def send_unchanged(
    run_id: str, previous_run: str, report_dir: Path, config: Config, now: datetime
) -> str | None:
    """For a nightly run that reused the previous result: a short mail, only if always asked."""
    if not recipients(config):
        return None
    if not config.report.email_always:
        return "Résumé non envoyé : rien de nouveau depuis l'exécution précédente."
    mail = EmailMessage()
    mail["Subject"] = f"certsync — exécution {run_id} : rien de nouveau"
    mail["From"] = config.smtp.sender
    mail["To"] = config.report.email_to
    mail["Date"] = formatdate(now.timestamp(), localtime=True)
    mail["Auto-Submitted"] = "auto-generated"
    text = (
        f"Exécution {run_id} : rien n'a changé depuis l'exécution {previous_run} (liste, "
        f"fichiers, réglages) ; son résultat est repris.\n\nRapport : "
        f"{report_dir / 'exceptions.xlsx'}\n"
    )
    mail.set_content(text, charset="utf-8")
    mail.add_alternative(f"<html><body><p>{html.escape(text)}</p></body></html>", subtype="html")
    return _deliver(mail, config, None, None)


__all__ = ["News", "build_summary", "news", "previous_report", "send_summary", "send_unchanged"]
