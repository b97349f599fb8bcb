"""onboarding.xlsx: the preview of the socle's report per file, the findings, who not to delete.

Every text cell is written with `write_string`, so that a roster name starting with "=" stays
text and is never evaluated by the spreadsheet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import xlsxwriter

from certsync.fsutil import atomic_path
from certsync.onboarding.plan import Onboarding

PREVIEW_HEADER = (
    "Organisme",
    "N° organisme",
    "Fichier",
    "Lignes (avec l'en-tête)",
    "Octets",
    "À créer",
    "Dans l'import et sur myec3 (valeurs inchangées)",
    "Valeurs modifiées",
    "À supprimer (NE PAS SUPPRIMER)",
)
FINDINGS_HEADER = ("Gravité", "Code", "Ligne", "Fichier", "E-mail", "Agent", "Constat", "Que faire")
NEW_HEADER = ("Organisme", "Fichier", "Ligne de la liste", "E-mail", "Prénom", "Nom")
KEEP_HEADER = ("Organisme", "E-mail", "Agent", "N° profil", "Pourquoi il n'est pas dans le fichier")


def write_workbook(result: Onboarding, path: Path) -> None:
    """Write the workbook atomically: the report preview, the findings, who is created, and
    the existing agents that must not be deleted."""
    sheets = (
        ("Aperçu du rapport", PREVIEW_HEADER, _preview_rows(result)),
        ("Constats", FINDINGS_HEADER, _finding_rows(result)),
        ("À créer", NEW_HEADER, _newcomer_rows(result)),
        ("Ne pas supprimer", KEEP_HEADER, _keep_rows(result)),
    )
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False})
        bold = book.add_format({"bold": True})
        for name, header, rows in sheets:
            sheet = book.add_worksheet(name)
            _header(sheet, header, bold)
            for row, cells in enumerate(rows, start=1):
                for col, cell in enumerate(cells):
                    if isinstance(cell, int):
                        sheet.write_number(row, col, cell)
                    else:
                        sheet.write_string(row, col, cell)
        book.close()


Cells = tuple[str | int, ...]


def _preview_rows(result: Onboarding) -> Iterator[Cells]:
    """Per import file, what the socle's report must announce."""
    for plan in result.plans:
        for f in plan.files:
            yield (
                plan.organisation.label,
                plan.organisation.id,
                f.path.name,
                f.records,
                f.size,
                f.created,
                f.existing,
                plan.modified,
                f.to_delete,
            )


def _finding_rows(result: Onboarding) -> Iterator[Cells]:
    for item in result.findings:
        yield (
            item.severity.label,
            str(item.code),
            "" if item.row is None else str(item.row),
            item.file or "",
            str(item.params.get("email", "")),
            str(item.params.get("name", "")),
            item.message(),
            item.action(),
        )


def _newcomer_rows(result: Onboarding) -> Iterator[Cells]:
    for plan in result.plans:
        newcomers = iter(plan.newcomers)
        for f in plan.files:
            # Newcomers follow the existing agents, in order, part after part.
            for newcomer in [next(newcomers) for _ in range(f.created)]:
                yield (
                    plan.organisation.label,
                    f.path.name,
                    str(newcomer.agent.row),
                    newcomer.agent.email,
                    newcomer.values[1],
                    newcomer.values[2],
                )


def _keep_rows(result: Onboarding) -> Iterator[Cells]:
    for plan in result.plans:
        for account in plan.left_out:
            yield (
                plan.organisation.label,
                account.email,
                account.name,
                account.profil_id,
                "l'import du socle refuse une de ses valeurs : le rapport du socle le "
                "listera « à supprimer »",
            )


def _header(sheet: xlsxwriter.worksheet.Worksheet, names: tuple[str, ...], bold: object) -> None:
    for col, name in enumerate(names):
        sheet.write_string(0, col, name, bold)
        sheet.set_column(col, col, max(12, min(60, len(name) + 4)))
