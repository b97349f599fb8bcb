"""exceptions.csv: UTF-8 with BOM, `;`, with formula-looking cells neutralised."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from certsync.fsutil import atomic_write_text
from certsync.records import RunResult
from certsync.report.rows import AGENT_STATUS_FR, COLUMNS, Row

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: int | str) -> int | str:
    """Prefix `'` to text that a spreadsheet would evaluate as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: Path, rows: Sequence[Row]) -> None:
    """Write the findings as CSV for Excel (UTF-8 with BOM, `;`) atomically."""

    def write(handle: IO[str]) -> None:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([neutralise(v) for v in row.cells()])

    atomic_write_text(path, write, encoding="utf-8-sig")


AGENT_COLUMNS = (
    "Ligne",
    "Nom",
    "Prénom",
    "E-mail",
    "Statut",
    "Fichier",
    "Attribution",
    "Fin de validité",
    "Empreinte SHA-256",
    "Codes",
)


def write_agents_csv(path: Path, result: RunResult) -> None:
    """Every roster row with its outcome and how its certificate was matched (for Excel)."""

    def write(handle: IO[str]) -> None:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(AGENT_COLUMNS)
        for a in result.agents:
            cells: list[int | str] = [
                a.agent.row,
                a.agent.nom,
                a.agent.prenom,
                a.agent.email,
                AGENT_STATUS_FR[a.status],
                a.file or "",
                a.method,
                f"{a.not_after:%d/%m/%Y}" if a.not_after else "",
                a.sha256 or "",
                " ".join(f.code.value for f in a.findings),
            ]
            writer.writerow([neutralise(c) for c in cells])

    atomic_write_text(path, write, encoding="utf-8-sig")
