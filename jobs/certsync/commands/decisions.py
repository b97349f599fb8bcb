"""`certsync decisions import|list|remove`: the decisions taken in exceptions.xlsx, kept in the
state; and the same import for `certsync run --decisions exceptions.xlsx`."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from certsync.commands.common import config_from_args, now_utc
from certsync.commands.options import add_common, add_json, add_state
from certsync.config import Config
from certsync.decisionbook import Verdict, import_decisions
from certsync.errors import ExitCode, UsageError
from certsync.french import plural
from certsync.state import StateStore


def register_decisions(sub: Any) -> None:
    """Add `decisions` and its three actions to the main parser."""
    p = sub.add_parser(
        "decisions", help="les décisions prises dans exceptions.xlsx, gardées pour les exécutions"
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    a = actions.add_parser("import", help="lire la colonne « Décision » d'un exceptions.xlsx")
    a.add_argument("workbook", type=Path, metavar="CLASSEUR", help="exceptions.xlsx rempli")
    a.add_argument("--roster", type=Path, help="liste des agents (défaut : celle du rapport)")
    a.add_argument("--certs", type=Path, help="dossier des certificats (défaut : celui du rapport)")
    a.add_argument("--sheet", help="feuille de la liste des agents (défaut : celle du rapport)")
    add_state(a)
    add_common(a)
    a.set_defaults(handler=cmd_decisions_import)

    a = actions.add_parser("list", help="lister les décisions gardées")
    add_state(a)
    add_json(a)
    add_common(a)
    a.set_defaults(handler=cmd_decisions_list)

    a = actions.add_parser("remove", help="retirer une décision gardée")
    a.add_argument("sha256", metavar="EMPREINTE", help="empreinte SHA-256 du certificat")
    a.add_argument(
        "email", nargs="?", metavar="E-MAIL", help="seulement ce compte (certificat partagé)"
    )
    add_state(a)
    add_common(a)
    a.set_defaults(handler=cmd_decisions_remove)


def import_workbook(
    config: Config,
    store: StateStore,
    workbook: Path,
    *,
    roster: Path | None = None,
    certs: Path | None = None,
    sheet: str | None = None,
) -> list[Verdict]:
    """Read, check, keep and print (in French) the decisions of one workbook."""
    verdicts, kept = import_decisions(
        config.limits, store, workbook, now=now_utc(), roster=roster, certs=certs, sheet=sheet
    )
    for verdict in verdicts:
        print(verdict.line(workbook))
    refused = len(verdicts) - kept
    if not verdicts:
        print(f"{workbook} : aucune cellule « Décision » remplie ; rien n'a été enregistré.")
    else:
        print(
            f"{plural(kept, 'décision enregistrée', 'décisions enregistrées')}, "
            f"{plural(refused, 'refusée', 'refusées')} ; les décisions enregistrées "
            "s'appliquent à chaque exécution suivante (certsync decisions list)."
        )
    return verdicts


def with_workbook_decisions(
    config: Config, store: StateStore, *, roster: Path, certs: Path, sheet: str | None
) -> Config:
    """For `run --decisions exceptions.xlsx`: import its decisions into the state first; the
    run then applies them from the state, as every later run will."""
    path = config.decisions
    if path is None or path.suffix.lower() != ".xlsx":
        return config
    import_workbook(config, store, path, roster=roster, certs=certs, sheet=sheet)
    return replace(config, decisions=None)


def cmd_decisions_import(args: argparse.Namespace) -> int:
    """`certsync decisions import exceptions.xlsx`."""
    config = config_from_args(args)
    with StateStore.open(config.state) as store:
        verdicts = import_workbook(
            config, store, args.workbook, roster=args.roster, certs=args.certs, sheet=args.sheet
        )
    return int(ExitCode.FINDINGS if any(not v.accepted for v in verdicts) else ExitCode.OK)


def cmd_decisions_list(args: argparse.Namespace) -> int:
    """`certsync decisions list`."""
    config = config_from_args(args)
    with StateStore.open(config.state) as store:
        kept = store.decisions()
    if args.json:
        rows = [
            {
                "sha256": d.sha256,
                "email": d.email or None,
                "ignore": d.ignore,
                "decided_at": d.decided_at.isoformat(),
                "source": d.source,
            }
            for d in kept
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not kept:
        print("Aucune décision enregistrée.")
    for d in kept:
        target = "ignorer" if d.ignore else d.email
        print(f"{d.sha256}  → {target}  ({d.source}, le {d.decided_at:%d/%m/%Y %H:%M})")
    return 0


def cmd_decisions_remove(args: argparse.Namespace) -> int:
    """`certsync decisions remove EMPREINTE [E-MAIL]`."""
    config = config_from_args(args)
    sha = args.sha256.strip().lower().replace(":", "")
    with StateStore.open(config.state) as store:
        removed = store.remove_decision(sha, args.email)
    if not removed:
        raise UsageError(
            f"Aucune décision enregistrée pour l'empreinte {sha}"
            + (f" et le compte {args.email}." if args.email else "."),
            hint="Voyez les décisions enregistrées avec certsync decisions list.",
        )
    print(
        f"Décision retirée pour {sha}"
        + (f" ({args.email})" if args.email else "")
        + " : le certificat sera attribué comme s'il n'y avait pas de décision."
    )
    return 0
