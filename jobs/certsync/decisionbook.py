"""Decisions taken in exceptions.xlsx: read the « Décision » cells, check them, keep them.

The administrator settles a held or orphan certificate by choosing an e-mail (or « ignorer »)
in the workbook; each filled cell is checked against the roster and against the certificate
file's fingerprint, and the accepted ones are kept in the state so that every later run
applies them, like the lines of the CSV decisions file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from certsync.config import Limits
from certsync.errors import InputError, UsageError
from certsync.ingest import load_der
from certsync.match import AdminDecision
from certsync.records import Roster
from certsync.report.rows import DECIDABLE, DECISION_HEADER, IGNORE_CHOICE
from certsync.roster import read_roster
from certsync.state import StateStore, StoredDecision

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SPLIT = re.compile(r"[;,\s]+")
_IGNORE = {IGNORE_CHOICE, "ignore", "rejet", "rejeter"}
_NEEDED = ("Fichier", "Agent", "Code", "Message", "Empreinte SHA-256", DECISION_HEADER)
_NAMED = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class DecisionCell:
    """One filled « Décision » cell of the findings sheet."""

    row: int
    """Row number in the sheet, as Excel shows it."""
    file: str
    name: str
    """The certificate's name as the report gave it."""
    code: str
    sha256: str
    value: str
    choices: tuple[str, ...] = ()
    """The candidate e-mails the finding named (what the drop-down offered)."""


@dataclass(frozen=True, slots=True)
class Workbook:
    """What a report workbook says: the filled decision cells and the run's inputs."""

    path: Path
    cells: tuple[DecisionCell, ...]
    roster: Path | None
    certs: Path | None
    sheet: str | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one cell is accepted, and what it says, in French."""

    cell: DecisionCell
    accepted: bool
    emails: tuple[str, ...]
    """The agents' e-mails as the roster spells them; empty for « ignorer » or a refusal."""
    message: str

    def line(self, source: Path) -> str:
        """`Ligne N (« file ») : acceptée — …` for the command line."""
        verdict = "acceptée" if self.accepted else "refusée"
        return f"{source.name}, ligne {self.cell.row} (« {self.cell.file} ») : {verdict} — " + (
            self.message
        )


def _refuse(path: Path, why: str) -> InputError:
    return InputError(
        f"Le classeur {path} ne peut pas servir de décisions : {why}.",
        hint="Donnez le classeur exceptions.xlsx écrit par certsync run, avec sa feuille "
        "« Constats » et sa colonne « Décision » remplie.",
    )


def read_workbook(path: Path) -> Workbook:
    """The filled « Décision » cells of a report workbook, and the inputs of its run.

    Read in streaming mode, only the two sheets needed: a report of 100,000 agents loaded whole
    takes half a minute and a lot of memory.
    """
    import openpyxl

    if not path.is_file():
        raise _refuse(path, "fichier introuvable")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise _refuse(path, f"ce n'est pas un classeur .xlsx lisible ({exc})") from exc
    try:
        if "Constats" not in book.sheetnames:
            raise _refuse(path, "la feuille « Constats » est absente")
        cells = _cells(path, book["Constats"].iter_rows(values_only=True))
        summary = _summary(book)
    finally:
        book.close()
    folder = summary.get("Dossier des certificats")
    roster = summary.get("Liste des agents")
    return Workbook(
        path,
        tuple(cells),
        Path(roster) if roster else None,
        Path(folder) if folder else None,
        summary.get("Feuille"),
    )


def _cells(path: Path, rows: Iterator[tuple[Any, ...]]) -> list[DecisionCell]:
    first = next(rows, ())
    header = {str(v).strip(): i for i, v in enumerate(first) if v is not None}
    missing = [name for name in _NEEDED if name not in header]
    if missing:
        absent = "colonne absente" if len(missing) == 1 else "colonnes absentes"
        raise _refuse(path, f"{absent} : " + ", ".join(f"« {m} »" for m in missing))
    at = {name: header[name] for name in (*_NEEDED, "Message")}
    cells = []
    for number, row in enumerate(rows, start=2):
        value = _text(row[at[DECISION_HEADER]] if len(row) > at[DECISION_HEADER] else None)
        if not value:
            continue
        by = {name: row[i] if i < len(row) else None for name, i in at.items()}
        cells.append(
            DecisionCell(
                row=number,
                file=_text(by["Fichier"]),
                name=_text(by["Agent"]),
                code=_text(by["Code"]),
                sha256=re.sub(r"[\s:]", "", _text(by["Empreinte SHA-256"])).lower(),
                value=value,
                # The candidates the report named, as « Name <e-mail> (ligne N) ».
                choices=tuple(_NAMED.findall(_text(by["Message"]))),
            )
        )
    return cells


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _summary(book: Any) -> dict[str, str]:
    if "Résumé" not in book.sheetnames:
        return {}
    out: dict[str, str] = {}
    for label, value, *_rest in book["Résumé"].iter_rows(values_only=True, max_col=2):
        if isinstance(label, str) and value is not None:
            out.setdefault(label, str(value))
    return out


def check_cells(
    cells: Sequence[DecisionCell],
    roster: Roster,
    *,
    certs: Path,
    limits: Limits,
) -> list[Verdict]:
    """Check each cell against the roster and its certificate file's fingerprint."""
    emails = {a.email_key: a.email for a in roster.agents}
    first: dict[str, DecisionCell] = {}
    verdicts = []
    for cell in cells:
        refusal = _refusal(cell, certs, limits)
        targets: tuple[str, ...] = ()
        if refusal is None and cell.value.casefold() not in _IGNORE:
            wanted = [e for e in _SPLIT.split(cell.value) if e]
            unknown = [e for e in wanted if e.casefold() not in emails]
            if unknown:
                refusal = (
                    ", ".join(f"« {e} »" for e in unknown)
                    + (" n'est pas" if len(unknown) == 1 else " ne sont pas")
                    + " dans la liste des agents ; choisissez une adresse de la liste ou "
                    "« ignorer »"
                )
            else:
                targets = tuple(dict.fromkeys(emails[e.casefold()] for e in wanted))
        earlier = first.get(cell.sha256)
        if refusal is None and earlier is not None:
            refusal = (
                f"ce certificat a déjà reçu une décision ligne {earlier.row} ; "
                "une seule décision par certificat"
            )
        if refusal is not None:
            verdicts.append(Verdict(cell, False, (), refusal))
            continue
        first[cell.sha256] = cell
        verdicts.append(Verdict(cell, True, targets, _accepted(cell, targets)))
    return verdicts


def _refusal(cell: DecisionCell, certs: Path, limits: Limits) -> str | None:
    if cell.code not in DECIDABLE:
        return (
            f"ce constat ({cell.code or 'sans code'}) n'attend pas de décision : seuls les "
            "certificats en attente ou sans agent en prennent une"
        )
    if not _SHA256.match(cell.sha256):
        return "l'empreinte SHA-256 de la ligne est absente ou a été modifiée"
    inside = (certs / cell.file).resolve().is_relative_to(certs.resolve())
    if not cell.file or not inside:
        return "le nom de fichier de la ligne a été modifié (il sort du dossier des certificats)"
    if not (certs / cell.file).is_file():
        return (
            f"le fichier n'est plus dans le dossier {certs} ; relancez une simulation "
            "et décidez sur le nouveau rapport"
        )
    if load_der(certs, cell.file, cell.sha256, limits) is None:
        return (
            "le fichier ne contient plus le certificat de cette empreinte (il a été "
            "remplacé) ; relancez une simulation et décidez sur le nouveau rapport"
        )
    return None


def _accepted(cell: DecisionCell, targets: tuple[str, ...]) -> str:
    name = f"« {cell.name} »" if cell.name else "le certificat"
    if not targets:
        return f"{name} ne sera jamais utilisé (ignorer)."
    text = f"{name} ira à {', '.join(targets)}"
    outside = [t for t in targets if cell.choices and t.casefold() not in _folded(cell.choices)]
    if outside:
        text += " (hors des candidats proposés, mais dans la liste des agents)"
    if len(targets) > 1:
        text += " : certificat partagé entre ces comptes"
    return text + "."


def _folded(values: Iterable[str]) -> set[str]:
    return {v.casefold() for v in values}


def keep(store: StateStore, verdicts: Sequence[Verdict], source: Path, now: datetime) -> int:
    """Keep the accepted decisions in the state (each replaces the certificate's previous one);
    how many were kept."""
    kept = 0
    for verdict in verdicts:
        if verdict.accepted:
            store.set_decision(
                verdict.cell.sha256,
                verdict.emails,
                decided_at=now,
                source=f"{source.name}, ligne {verdict.cell.row}",
            )
            kept += 1
    return kept


def stored_decisions(store: StateStore) -> dict[str, AdminDecision]:
    """The decisions kept in the state, in the matcher's form."""
    grouped: dict[str, list[StoredDecision]] = {}
    for d in store.decisions():
        grouped.setdefault(d.sha256, []).append(d)
    out = {}
    for sha, items in grouped.items():
        emails = tuple(d.email.casefold() for d in items if not d.ignore)
        first = items[0]
        source = f"{first.source}, le {first.decided_at:%d/%m/%Y}"
        out[sha] = AdminDecision(sha, emails, not emails, 0, source)
    return out


def decisions_digest(store: StateStore) -> str:
    """A digest of the kept decisions: a run's result depends on them (nightly shortcut)."""
    digest = hashlib.sha256()
    for d in store.decisions():
        digest.update(f"{d.sha256}\0{d.email.casefold()}\n".encode())
    return digest.hexdigest()


def import_decisions(
    limits: Limits,
    store: StateStore,
    workbook: Path,
    *,
    now: datetime,
    roster: Path | None = None,
    certs: Path | None = None,
    sheet: str | None = None,
) -> tuple[list[Verdict], int]:
    """Read and check one workbook's decisions, keep the accepted ones: (verdicts, kept).

    The roster and the folder default to those the workbook's report was made from.
    """
    book = read_workbook(workbook)
    roster_path = roster or book.roster
    if roster_path is None or not roster_path.is_file():
        where = f"introuvable : {roster_path}" if roster_path else "non indiquée dans le classeur"
        raise UsageError(
            f"Liste des agents du rapport {workbook} {where}.",
            hint="Indiquez-la avec --roster (et le dossier des certificats avec --certs).",
        )
    folder = certs or book.certs
    if folder is None or not folder.is_dir():
        where = f"introuvable : {folder}" if folder else "non indiqué dans le classeur"
        raise UsageError(
            f"Dossier des certificats du rapport {workbook} {where} : les empreintes ne "
            "peuvent pas être vérifiées.",
            hint="Indiquez-le avec --certs.",
        )
    agents = read_roster(roster_path, sheet=sheet or book.sheet, limits=limits, certs_root=folder)
    verdicts = check_cells(book.cells, agents, certs=folder, limits=limits)
    return verdicts, keep(store, verdicts, workbook, now)
