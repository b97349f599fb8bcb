"""Thin command-line front end: parse, configure, call the library, print in French, exit."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import traceback
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from certsync import commands
from certsync.argparse_fr import FrenchArgumentParser
from certsync.commands.options import (
    add_common,
    add_json,
    add_platform,
    add_roster,
    add_sheet,
    add_state,
    add_trust,
)
from certsync.errors import CertsyncError, ExitCode, UsageError
from certsync.logs import nofollow_opener, redact

log = logging.getLogger("certsync")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, with French help."""
    parser = FrenchArgumentParser(
        prog="certsync",
        description="Dépose en masse les certificats RGS des agents sur leurs comptes Mégalis "
        "Bretagne, et rend compte en français de tout ce qui n'a pas pu être traité.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE", required=True)

    run = sub.add_parser("run", help="traiter une liste d'agents et un dossier de certificats")
    add_roster(run)
    run.add_argument("--certs", type=Path, required=True, help="dossier des certificats reçus")
    add_trust(run)
    run.add_argument("--dry-run", action="store_true", help="simulation : rien n'est déposé")
    run.add_argument("--report-dir", type=Path, help="dossier du rapport (défaut : reports/…)")
    add_sheet(run)
    run.add_argument(
        "--decisions", type=Path, help="décisions : fichier CSV, ou exceptions.xlsx rempli"
    )
    run.add_argument(
        "--skip-chain-check",
        action="store_true",
        help="autoriser le dépôt sans magasin de confiance (déconseillé)",
    )
    add_platform(run, platform="plateforme (défaut : socle)")
    run.add_argument(
        "--create-missing", action="store_true", help="créer les comptes qui n'existent pas"
    )
    add_state(run)
    commands.add_selection(run)
    run.add_argument(
        "--full",
        action="store_true",
        help="tout refaire même si rien n'a changé depuis la dernière exécution",
    )
    run.add_argument(
        "--new-state",
        action="store_true",
        help="repartir d'un état vide quand le fichier d'état endommagé a été mis de côté",
    )
    add_common(run)
    run.set_defaults(handler=commands.cmd_run)

    inspect = sub.add_parser("inspect", help="vérifier un ou plusieurs fichiers de certificat")
    inspect.add_argument("files", nargs="+", type=Path, metavar="FICHIER")
    add_trust(inspect)
    add_json(inspect)
    add_common(inspect)
    inspect.set_defaults(handler=commands.cmd_inspect)

    commands.register_ops(sub)
    commands.register_onboarding(sub)
    commands.register_check(sub)
    commands.register_audit(sub)
    commands.register_decisions(sub)
    commands.register_trust(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `certsync` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
    except KeyboardInterrupt:  # Ctrl-C while starting: nothing has begun
        print("certsync : interrompu avant de commencer ; rien n'a été fait.", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CertsyncError as exc:
        print(f"certsync : {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  → {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("certsync : interrompu.", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception:
        return _internal_error(args)


def _internal_error(args: argparse.Namespace) -> int:
    """Log the traceback to a file, tell the administrator in French where it is."""
    incident = uuid.uuid4().hex[:8]
    path = commands.crash_log_path(args)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Never through a planted link; never a password that a traceback's text carried.
        with open(path, "a", encoding="utf-8", opener=nofollow_opener) as handle:
            handle.write(f"--- incident {incident} {dt.datetime.now(dt.UTC).isoformat()}\n")
            handle.write(redact(traceback.format_exc()))
        where = str(path)
    except OSError:
        where = "(journal inaccessible)"
    print(
        f"certsync : erreur interne (incident {incident}). Le détail technique est dans "
        f"{where}. Aucune donnée n'a été perdue ; transmettez ce fichier à l'équipe certsync.",
        file=sys.stderr,
    )
    return int(ExitCode.INTERNAL)


__all__ = ["UsageError", "build_parser", "main"]
