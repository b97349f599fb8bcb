"""The options several commands share, declared once: configuration, date, state, platform."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from certsync.config import PLATFORMS


def parse_date(value: str) -> dt.datetime:
    """`YYYY-MM-DD` → midnight UTC of that day."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"date invalide « {value} » (format attendu : AAAA-MM-JJ)"
        ) from exc
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def add_common(parser: argparse.ArgumentParser) -> None:
    """--config, --as-of and --quiet, which every command that reads the configuration takes."""
    parser.add_argument("--config", type=Path, help="fichier de configuration TOML")
    parser.add_argument(
        "--as-of",
        type=parse_date,
        help="date de référence pour toutes les vérifications de dates (AAAA-MM-JJ ; "
        "par défaut : aujourd'hui)",
    )
    parser.add_argument("--quiet", action="store_true", help="n'afficher que les problèmes")


def add_state(parser: argparse.ArgumentParser) -> None:
    """--state: the SQLite state file instead of the configuration's."""
    parser.add_argument("--state", type=Path, help="fichier d'état SQLite")


def add_platform(
    parser: argparse.ArgumentParser,
    *,
    url: str = "adresse de la plateforme",
    platform: str = "plateforme",
) -> None:
    """--platform (one of PLATFORMS) and --url, with the help each command gives them."""
    parser.add_argument("--platform", choices=PLATFORMS, help=platform)
    parser.add_argument("--url", help=url)


def add_roster(parser: argparse.ArgumentParser) -> None:
    """--roster (required): the agents' list."""
    parser.add_argument(
        "--roster", type=Path, required=True, help="liste des agents (.xlsx ou .csv)"
    )


def add_sheet(parser: argparse.ArgumentParser) -> None:
    """--sheet: which sheet of the roster workbook to read."""
    parser.add_argument("--sheet", help="feuille du classeur à lire (défaut : la première)")


def add_trust(parser: argparse.ArgumentParser) -> None:
    """--trust: the accepted authorities' certificates instead of the configuration's."""
    parser.add_argument("--trust", type=Path, help="certificats des autorités acceptées (PEM)")


def add_within(parser: argparse.ArgumentParser) -> None:
    """--within DAYS: the renewal campaign's horizon."""
    parser.add_argument(
        "--within", type=int, required=True, metavar="JOURS", help="horizon en jours"
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    """--json: the command's output as JSON for scripts."""
    parser.add_argument("--json", action="store_true", help="sortie JSON")
