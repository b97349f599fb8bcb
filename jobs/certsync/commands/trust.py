"""`certsync trust build FILES… > autorites.pem`: the trust store from the authorities' files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from certsync.commands.common import now_utc
from certsync.errors import ExitCode
from certsync.fsutil import atomic_write_bytes
from certsync.trust import common_name
from certsync.trustbuild import build


def register_trust(sub: Any) -> None:
    """Add `trust build` to the main parser."""
    trust = sub.add_parser("trust", help="magasin de confiance : autorités de certification")
    actions = trust.add_subparsers(dest="trust_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "build",
        help="construire le magasin (PEM) à partir des fichiers publiés par les autorités",
        description="Lit les certificats d'autorité (.cer, .crt, .pem, .p7b ; PEM ou DER) et "
        "écrit le magasin de confiance PEM sur la sortie standard (ou dans --output). Les "
        "certificats qui ne sont pas des autorités sont refusés ; le magasin est relu et "
        "vérifié avant d'être écrit.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FICHIER")
    p.add_argument("-o", "--output", type=Path, help="fichier à écrire (défaut : sortie standard)")
    p.set_defaults(handler=cmd_trust_build)


def cmd_trust_build(args: argparse.Namespace) -> int:
    """Build, check, then write the store; the report goes to standard error."""
    bundle = build(args.files, now=now_utc())
    if args.output is not None:
        atomic_write_bytes(args.output, bundle.pem.encode("utf-8"))
    else:
        sys.stdout.write(bundle.pem)
        sys.stdout.flush()
    lines = [
        f"certsync — magasin de confiance : {len(bundle.roots)} autorité(s) racine(s), "
        f"{len(bundle.intermediates)} intermédiaire(s)"
        + (f", écrit dans {args.output}" if args.output else "")
        + " ; relu et vérifié."
    ]
    lines += [f"  racine : {common_name(c.subject)}" for c in bundle.roots]
    lines += [f"  intermédiaire : {common_name(c.subject)}" for c in bundle.intermediates]
    lines += [f"  ATTENTION : {w}" for w in bundle.warnings]
    lines += [f"  écarté : {r.source} — {r.reason}" for r in bundle.refused]
    print("\n".join(lines), file=sys.stderr)
    return int(ExitCode.FINDINGS if bundle.refused or bundle.warnings else ExitCode.OK)
