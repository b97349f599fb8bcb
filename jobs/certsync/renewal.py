"""Certificates that expire soon, from the state and the platform, as xlsx, CSV and JSON reports."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import xlsxwriter

from certsync.french import plural
from certsync.fsutil import atomic_path, atomic_write_bytes
from certsync.state import Action, StateStore, StoredCert

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
    reminded: datetime | None = None
    """When the last reminder for this certificate went out (certsync notify)."""
    renewed: datetime | None = None
    """When certsync replaced this certificate by the agent's new one; None: not yet."""

    @property
    def expired(self) -> bool:
        """Already expired on `as_of`."""
        return self.days_left < 0

    @property
    def urgency(self) -> str:
        """French urgency class, as the workbook colours it."""
        if self.renewed is not None:
            return "renouvelé"
        if self.expired:
            return "expiré"
        return next(
            (label for days, label in URGENCY if self.days_left <= days), "au-delà de 60 jours"
        )


#: Urgency thresholds of the campaign, in days, with their French labels.
URGENCY = ((30, "d'ici 30 jours"), (60, "d'ici 60 jours"))


def headline(entries: Sequence[ExpiringEntry], within_days: int, as_of: date) -> str:
    """The campaign's one-line summary, the same on the command line and in the workbook."""
    waiting = [e for e in entries if e.renewed is None]
    found = plural(len(waiting), "certificat expiré ou expirant", "certificats expirés ou expirant")
    expired = plural(sum(1 for e in waiting if e.expired), "déjà expiré", "déjà expirés")
    return f"{found} d'ici {plural(within_days, 'jour')} (dont {expired}), au {as_of:%d/%m/%Y}."


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
    sent = store.reminders_sent()
    found = [
        replace(e, reminded=sent.get((e.email.casefold(), e.sha256)))
        for e in merged.values()
        if e.days_left <= within_days
    ]
    return sorted(found, key=_order)


def renewed(store: StateStore, within_days: int, as_of: date) -> list[ExpiringEntry]:
    """Certificates of this campaign already replaced by the agent's new one: those certsync
    replaced on an account and that expire (or expired) within `within_days` of `as_of`."""
    accounts = {(a.email_key, a.platform): a for a in store.accounts()}
    latest: dict[str, ExpiringEntry] = {}
    for push in store.audit_entries():
        account = accounts.get((push.email_key, push.platform))
        if push.action is not Action.PUSH or not push.old_sha256 or account is None:
            continue
        der = store.certificate_der(push.old_sha256)
        if der is None or account.sha256 == push.old_sha256:
            continue
        old = StoredCert.from_der(der)
        entry = _entry(
            account.email, account.prenom, account.nom, account.organisation, old.sha256,
            old.common_name, old.not_after, as_of, "state",
        )  # fmt: skip
        if -within_days <= entry.days_left <= within_days:
            latest[push.email_key] = replace(entry, renewed=push.at)
    return sorted(latest.values(), key=_order)


def _order(e: ExpiringEntry) -> tuple[str, str, datetime, str, str]:
    # The exact organisation is in the key so that groupby() sees each one as a single run.
    return (e.organisation.casefold(), e.organisation, e.not_after, e.nom, e.email)


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
    entries: list[ExpiringEntry],
    report_dir: Path,
    as_of: date,
    within_days: int,
    done: Sequence[ExpiringEntry] = (),
) -> dict[str, Path]:
    """Write expiring.xlsx, expiring.csv and expiring.json into `report_dir`, each atomically;
    `done` (already renewed) appear in the workbook and the JSON, not in the mail-merge CSV."""
    paths = {ext: report_dir / f"expiring.{ext}" for ext in ("xlsx", "csv", "json")}
    with atomic_path(paths["xlsx"]) as tmp:
        # The entries keep the order given; renewed ones join their organisation's group.
        rows = sorted([*entries, *done], key=_order) if done else entries
        _write_xlsx(tmp, rows, as_of, within_days)
    atomic_write_bytes(paths["csv"], _csv_bytes(entries))
    document = {
        "as_of": as_of.isoformat(),
        "within_days": within_days,
        "count": len(entries),
        "entries": [_json_entry(e) for e in entries],
        "renewed": [_json_entry(e) for e in done],
    }
    atomic_write_bytes(
        paths["json"], json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    )
    return paths


def _json_entry(e: ExpiringEntry) -> dict[str, Any]:
    out = asdict(e)
    for key in ("not_after", "reminded", "renewed"):
        moment = getattr(e, key)
        out[key] = moment.isoformat() if moment is not None else None
    return out


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
    ("Organisme", 30),
    ("Certificat (CN)", 28),
    ("Date d'expiration", 16),
    ("Jours restants", 14),
    ("Urgence", 16),
    ("Rappel envoyé le", 16),
    ("Renouvelé", 14),
    ("Empreinte SHA-256", 66),
    ("Source", 10),
)

#: Urgency → fill colour: red for expired, orange within 30 days, yellow within 60, green done.
_URGENCY_COLOURS = {
    "expiré": "#FF9999",
    "d'ici 30 jours": "#F8CBAD",
    "d'ici 60 jours": "#FFE699",
    "renouvelé": "#C6EFCE",
}


def _write_xlsx(path: Path, entries: list[ExpiringEntry], as_of: date, within_days: int) -> None:
    # strings_to_formulas off: a CN or organisation starting with "=" stays text.
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    book = xlsxwriter.Workbook(str(path), options)
    try:
        fmt = {
            "head": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
            "date": book.add_format({"num_format": "dd/mm/yyyy"}),
            "title": book.add_format({"bold": True, "font_size": 13}),
        }
        for label, colour in _URGENCY_COLOURS.items():
            fmt[label] = book.add_format({"bg_color": colour})
            fmt[f"{label} date"] = book.add_format({"bg_color": colour, "num_format": "dd/mm/yyyy"})
        summary = book.add_worksheet("Synthèse")
        months = book.add_worksheet("Par mois")
        by_org = [(org, list(group)) for org, group in groupby(entries, lambda e: e.organisation)]
        names = sheet_names((org for org, _ in by_org), reserved=("Synthèse", "Par mois"))
        _write_summary(summary, fmt, by_org, names, as_of, within_days)
        _write_months(book, months, fmt, [e for e in entries if e.renewed is None])
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
    everyone = [e for _org, group in by_org for e in group]
    sheet.write_string(0, 0, headline(everyone, within_days, as_of), fmt["title"])
    headers = (
        "Organisme",
        "Feuille",
        "Certificats",
        "Déjà expirés",
        "D'ici 30 jours",
        "Renouvelés",
        "Première expiration",
    )
    widths = (40, 32, 12, 13, 15, 12, 20)
    for col, (title, width) in enumerate(zip(headers, widths, strict=True)):
        sheet.write_string(2, col, title, fmt["head"])
        sheet.set_column(col, col, width)
    for row, (org, group) in enumerate(by_org, start=3):
        waiting = [e for e in group if e.renewed is None]
        sheet.write_string(row, 0, org)
        sheet.write_string(row, 1, names[org])
        sheet.write_number(row, 2, len(waiting))
        sheet.write_number(row, 3, sum(e.expired for e in waiting))
        sheet.write_number(row, 4, sum(0 <= e.days_left <= 30 for e in waiting))
        sheet.write_number(row, 5, len(group) - len(waiting))
        if waiting:
            first = min(e.not_after for e in waiting)
            sheet.write_datetime(row, 6, first.replace(tzinfo=None), fmt["date"])
    sheet.freeze_panes(3, 0)
    sheet.autofilter(2, 0, 2 + max(len(by_org), 1), len(headers) - 1)
    legend = 4 + max(len(by_org), 1)
    sheet.write_string(legend, 0, "Couleurs des feuilles par organisme :", fmt["head"])
    for i, (label, _colour) in enumerate(_URGENCY_COLOURS.items(), start=1):
        sheet.write_string(legend + i, 0, label, fmt[label])


def months_between(first: date, last: date) -> list[str]:
    """Every month from `first` to `last` included, as `AAAA-MM` (no gap)."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _write_months(book: Any, sheet: Any, fmt: dict[str, Any], entries: list[ExpiringEntry]) -> None:
    counts = Counter(f"{e.not_after:%Y-%m}" for e in entries)
    sheet.write_string(0, 0, "Mois", fmt["head"])
    sheet.write_string(0, 1, "Expirations", fmt["head"])
    sheet.set_column(0, 1, 14)
    sheet.freeze_panes(1, 0)
    if not entries:
        return
    days = [e.not_after.date() for e in entries]
    months = months_between(min(days), max(days))
    for row, month in enumerate(months, start=1):
        sheet.write_string(row, 0, month)
        sheet.write_number(row, 1, counts.get(month, 0))
    chart = book.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "Expirations",
            "categories": ["Par mois", 1, 0, len(months), 0],
            "values": ["Par mois", 1, 1, len(months), 1],
        }
    )
    chart.set_title({"name": "Expirations par mois"})
    chart.set_x_axis({"name": "Mois d'expiration"})
    chart.set_y_axis({"name": "Certificats", "major_unit": 1, "min": 0})
    chart.set_legend({"none": True})
    sheet.insert_chart(1, 3, chart)


def _write_entries(sheet: Any, fmt: dict[str, Any], group: list[ExpiringEntry]) -> None:
    for col, (title, width) in enumerate(_COLUMNS):
        sheet.write_string(0, col, title, fmt["head"])
        sheet.set_column(col, col, width)
    for row, e in enumerate(group, start=1):
        for col, text in enumerate((e.email, e.prenom, e.nom, e.organisation, e.common_name)):
            sheet.write_string(row, col, text)
        urgency = e.urgency
        colour = fmt.get(urgency)
        sheet.write_datetime(
            row, 5, e.not_after.replace(tzinfo=None), fmt.get(f"{urgency} date", fmt["date"])
        )
        sheet.write_number(row, 6, e.days_left, colour)
        sheet.write_string(row, 7, urgency, colour)
        if e.reminded is not None:
            sheet.write_datetime(row, 8, e.reminded.replace(tzinfo=None), fmt["date"])
        if e.renewed is not None:
            sheet.write_datetime(row, 9, e.renewed.replace(tzinfo=None), fmt["renouvelé date"])
        else:
            sheet.write_string(row, 9, "non")
        sheet.write_string(row, 10, e.sha256)
        sheet.write_string(row, 11, _SOURCE_LABELS.get(e.source, e.source))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(group), len(_COLUMNS) - 1)
