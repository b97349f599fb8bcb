"""Certificates that expire soon, from the state and the platform, as xlsx, CSV and JSON reports."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import xlsxwriter

from certsync.fsutil import atomic_path, atomic_write_bytes
from certsync.state import StateStore

NO_ORGANISATION = "Sans organisme"

#: Characters Excel refuses in sheet names.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


@dataclass(frozen=True, slots=True)
class PlatformCertificate:
    """A certificate as read from a platform account (what is there now, whoever put it)."""

    email: str
    sha256: str
    not_after: datetime
    prenom: str = ""
    nom: str = ""
    organisation: str = ""


@dataclass(frozen=True, slots=True)
class ExpiringEntry:
    """One account whose certificate expires within the window, or has expired."""

    email: str
    """E-mail as written in the roster (or as the platform stores it)."""
    prenom: str
    nom: str
    organisation: str
    """Organisation, or NO_ORGANISATION."""
    sha256: str
    """Certificate on the account."""
    common_name: str
    not_after: datetime
    days_left: int
    """Days from `as_of` to the expiry date; negative once expired."""
    source: str
    """`state` (last pushed by certsync) or `platform` (read from the account)."""

    @property
    def expired(self) -> bool:
        """Already expired on `as_of`."""
        return self.days_left < 0


def expiring(
    store: StateStore,
    within_days: int,
    as_of: date,
    platform: Iterable[PlatformCertificate] | None = None,
) -> list[ExpiringEntry]:
    """Accounts whose certificate expires within `within_days` of `as_of`, by organisation.

    What the platform reports wins over the state for the same e-mail: a certificate may have
    been replaced by hand since certsync pushed one.
    """
    merged: dict[str, ExpiringEntry] = {}
    for acc in store.accounts():
        merged[acc.email_key] = _entry(
            acc.email,
            acc.prenom,
            acc.nom,
            acc.organisation,
            acc.sha256,
            acc.common_name,
            acc.not_after,
            as_of,
            "state",
        )
    for cert in platform or ():
        known = merged.get(cert.email.casefold())
        merged[cert.email.casefold()] = _entry(
            known.email if known else cert.email,
            cert.prenom or (known.prenom if known else ""),
            cert.nom or (known.nom if known else ""),
            cert.organisation or (known.organisation if known else ""),
            cert.sha256,
            known.common_name if known and known.sha256 == cert.sha256 else "",
            cert.not_after,
            as_of,
            "platform",
        )
    found = [e for e in merged.values() if e.days_left <= within_days]
    # The exact organisation is in the key so that groupby() sees each one as a single run.
    return sorted(
        found,
        key=lambda e: (e.organisation.casefold(), e.organisation, e.not_after, e.nom, e.email),
    )


def _entry(
    email: str,
    prenom: str,
    nom: str,
    organisation: str,
    sha256: str,
    common_name: str,
    not_after: datetime,
    as_of: date,
    source: str,
) -> ExpiringEntry:
    days_left = (not_after.date() - as_of).days
    organisation = organisation.strip() or NO_ORGANISATION
    return ExpiringEntry(
        email, prenom, nom, organisation, sha256, common_name, not_after, days_left, source
    )


def write_expiring(
    entries: list[ExpiringEntry], report_dir: Path, as_of: date, within_days: int
) -> dict[str, Path]:
    """Write expiring.xlsx, expiring.csv and expiring.json into `report_dir`, each atomically."""
    paths = {ext: report_dir / f"expiring.{ext}" for ext in ("xlsx", "csv", "json")}
    with atomic_path(paths["xlsx"]) as tmp:
        _write_xlsx(tmp, entries, as_of, within_days)
    atomic_write_bytes(paths["csv"], _csv_bytes(entries))
    document = {
        "as_of": as_of.isoformat(),
        "within_days": within_days,
        "count": len(entries),
        "entries": [{**asdict(e), "not_after": e.not_after.isoformat()} for e in entries],
    }
    atomic_write_bytes(
        paths["json"], json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    )
    return paths


def escape_cell(text: str) -> str:
    """Prefix a quote to text a spreadsheet would evaluate as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_bytes(entries: list[ExpiringEntry]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["e-mail", "prénom", "nom", "organisation", "date d'expiration", "jours restants"]
    )
    for e in entries:
        texts = [e.email, e.prenom, e.nom, e.organisation]
        # Days stay numeric: a negative count is data, not a formula.
        writer.writerow([*map(escape_cell, texts), f"{e.not_after:%d/%m/%Y}", e.days_left])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sheet_names(organisations: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """A valid, unique Excel sheet name for each organisation (≤31 chars, no []:*?/\\)."""
    # Excel compares sheet names case-insensitively and reserves "History".
    taken = {n.casefold() for n in reserved} | {"history"}
    names: dict[str, str] = {}
    for org in organisations:
        base = _SHEET_FORBIDDEN.sub(" ", org).strip().strip("'").strip() or NO_ORGANISATION
        name, n = base[:31], 1
        while name.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)] + suffix
        taken.add(name.casefold())
        names[org] = name
    return names


_SOURCE_LABELS = {"state": "certsync", "platform": "plateforme"}

_COLUMNS: tuple[tuple[str, int], ...] = (
    ("E-mail", 34),
    ("Prénom", 16),
    ("Nom", 18),
    ("Organisation", 30),
    ("Certificat (CN)", 28),
    ("Date d'expiration", 16),
    ("Jours restants", 14),
    ("Empreinte SHA-256", 66),
    ("Source", 10),
)


def _write_xlsx(path: Path, entries: list[ExpiringEntry], as_of: date, within_days: int) -> None:
    # strings_to_formulas off: a CN or organisation starting with "=" stays text.
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    book = xlsxwriter.Workbook(str(path), options)
    try:
        fmt = {
            "head": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
            "date": book.add_format({"num_format": "dd/mm/yyyy"}),
            "expired": book.add_format({"num_format": "dd/mm/yyyy", "font_color": "#C00000"}),
            "title": book.add_format({"bold": True, "font_size": 13}),
        }
        summary = book.add_worksheet("Synthèse")
        months = book.add_worksheet("Par mois")
        by_org = [(org, list(group)) for org, group in groupby(entries, lambda e: e.organisation)]
        names = sheet_names((org for org, _ in by_org), reserved=("Synthèse", "Par mois"))
        _write_summary(summary, fmt, by_org, names, as_of, within_days)
        _write_months(book, months, fmt, entries)
        for org, group in by_org:
            _write_entries(book.add_worksheet(names[org]), fmt, group)
    finally:
        book.close()


def _write_summary(
    sheet: Any,
    fmt: dict[str, Any],
    by_org: list[tuple[str, list[ExpiringEntry]]],
    names: dict[str, str],
    as_of: date,
    within_days: int,
) -> None:
    sheet.write_string(
        0, 0, f"Certificats expirant dans {within_days} jours au {as_of:%d/%m/%Y}", fmt["title"]
    )
    headers = ("Organisation", "Feuille", "Certificats", "Déjà expirés", "Première expiration")
    for col, (title, width) in enumerate(zip(headers, (40, 32, 12, 12, 20), strict=True)):
        sheet.write_string(2, col, title, fmt["head"])
        sheet.set_column(col, col, width)
    for row, (org, group) in enumerate(by_org, start=3):
        sheet.write_string(row, 0, org)
        sheet.write_string(row, 1, names[org])
        sheet.write_number(row, 2, len(group))
        sheet.write_number(row, 3, sum(e.expired for e in group))
        first = min(e.not_after for e in group)
        sheet.write_datetime(row, 4, first.replace(tzinfo=None), fmt["date"])
    sheet.freeze_panes(3, 0)
    sheet.autofilter(2, 0, 2 + max(len(by_org), 1), len(headers) - 1)


def _write_months(book: Any, sheet: Any, fmt: dict[str, Any], entries: list[ExpiringEntry]) -> None:
    counts = Counter(f"{e.not_after:%Y-%m}" for e in entries)
    sheet.write_string(0, 0, "Mois", fmt["head"])
    sheet.write_string(0, 1, "Expirations", fmt["head"])
    sheet.set_column(0, 1, 14)
    sheet.freeze_panes(1, 0)
    for row, month in enumerate(sorted(counts), start=1):
        sheet.write_string(row, 0, month)
        sheet.write_number(row, 1, counts[month])
    if counts:
        chart = book.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": "Expirations",
                "categories": ["Par mois", 1, 0, len(counts), 0],
                "values": ["Par mois", 1, 1, len(counts), 1],
            }
        )
        chart.set_title({"name": "Expirations par mois"})
        chart.set_legend({"none": True})
        sheet.insert_chart(1, 3, chart)


def _write_entries(sheet: Any, fmt: dict[str, Any], group: list[ExpiringEntry]) -> None:
    for col, (title, width) in enumerate(_COLUMNS):
        sheet.write_string(0, col, title, fmt["head"])
        sheet.set_column(col, col, width)
    for row, e in enumerate(group, start=1):
        for col, text in enumerate((e.email, e.prenom, e.nom, e.organisation, e.common_name)):
            sheet.write_string(row, col, text)
        date_fmt = fmt["expired"] if e.expired else fmt["date"]
        sheet.write_datetime(row, 5, e.not_after.replace(tzinfo=None), date_fmt)
        sheet.write_number(row, 6, e.days_left)
        sheet.write_string(row, 7, e.sha256)
        sheet.write_string(row, 8, _SOURCE_LABELS.get(e.source, e.source))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(group), len(_COLUMNS) - 1)
