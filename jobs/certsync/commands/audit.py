"""`certsync audit [EMAIL]`: every change of certificate, read from the state's audit trail."""

from __future__ import annotations

import argparse
import json
from itertools import groupby
from typing import Any

from certsync.audit import audit_trail, describe
from certsync.commands.common import config_from_args
from certsync.commands.options import add_common, add_json, add_state
from certsync.state import StateStore


def register_audit(sub: Any) -> None:
    """Add `audit` to the main parser."""
    p = sub.add_parser(
        "audit", help="lire le journal d'audit : chaque changement de certificat, compte par compte"
    )
    p.add_argument("email", nargs="?", metavar="E-MAIL", help="un seul compte (défaut : tous)")
    add_state(p)
    add_json(p)
    add_common(p)
    p.set_defaults(handler=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    """`certsync audit [EMAIL]`."""
    config = config_from_args(args)
    with StateStore.open(config.state) as store:
        lines = audit_trail(store, args.email)
    if args.json:
        print(json.dumps([line.as_dict() for line in lines], ensure_ascii=False, indent=2))
        return 0
    if not lines:
        who = f"le compte {args.email}" if args.email else "aucun compte"
        print(f"Aucun changement de certificat enregistré pour {who}.")
        return 0
    ordered = sorted(lines, key=lambda line: (line.email.casefold(), line.platform, line.at))
    for (_key, platform), group in groupby(
        ordered, key=lambda line: (line.email.casefold(), line.platform)
    ):
        changes = list(group)
        print(f"{changes[0].email} ({platform}, compte {changes[-1].account_id or '?'})")
        for change in changes:
            print("  " + "\n  ".join(describe(change)))
    return 0
