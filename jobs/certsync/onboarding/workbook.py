"""onboarding.xlsx: the preview of the socle's report per file, the findings, who not to delete.

Every text cell is written with `write_string`, so that a roster name starting with "=" stays
text and is never evaluated by the spreadsheet.
"""

from __future__ import annotations

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
    """Write the workbook atomically."""
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False})
        bold = book.add_format({"bold": True})
        sheet = book.add_worksheet("Aperçu du rapport")
        _header(sheet, PREVIEW_HEADER, bold)
        row = 1
        for plan in result.plans:
            for f in plan.files:
                texts = (plan.organisation.label, plan.organisation.id, f.path.name)
                for col, text in enumerate(texts):
                    sheet.write_string(row, col, text)
                numbers = (f.records, f.size, f.created, f.existing, plan.modified, f.to_delete)
                for col, number in enumerate(numbers, start=len(texts)):
                    sheet.write_number(row, col, number)
                row += 1
        sheet = book.add_worksheet("Constats")
        _header(sheet, FINDINGS_HEADER, bold)
        for row, item in enumerate(result.findings, start=1):
            cells = (
                item.severity.label,
                str(item.code),
                "" if item.row is None else str(item.row),
                item.file or "",
                str(item.params.get("email", "")),
                str(item.params.get("name", "")),
                item.message(),
                item.action(),
            )
            for col, text in enumerate(cells):
                sheet.write_string(row, col, text)
        sheet = book.add_worksheet("À créer")
        _header(sheet, NEW_HEADER, bold)
        row = 1
        for plan in result.plans:
            newcomers = iter(plan.newcomers)
            for f in plan.files:
                # Newcomers follow the existing agents, in order, part after part.
                for newcomer in [next(newcomers) for _ in range(f.created)]:
                    new_cells = (
                        plan.organisation.label,
                        f.path.name,
                        str(newcomer.agent.row),
                        newcomer.agent.email,
                        newcomer.values[1],
                        newcomer.values[2],
                    )
                    for col, text in enumerate(new_cells):
                        sheet.write_string(row, col, text)
                    row += 1
        sheet = book.add_worksheet("Ne pas supprimer")
        _header(sheet, KEEP_HEADER, bold)
        row = 1
        for plan in result.plans:
            for account in plan.left_out:
                kept = (
                    plan.organisation.label,
                    account.email,
                    account.name,
                    account.profil_id,
                    "l'import du socle refuse une de ses valeurs : le rapport du socle le "
                    "listera « à supprimer »",
                )
                for col, text in enumerate(kept):
                    sheet.write_string(row, col, text)
                row += 1
        book.close()


def _header(sheet: xlsxwriter.worksheet.Worksheet, names: tuple[str, ...], bold: object) -> None:
    for col, name in enumerate(names):
        sheet.write_string(0, col, name, bold)
        sheet.set_column(col, col, max(12, min(60, len(name) + 4)))
