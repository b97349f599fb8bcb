"""`certsync onboarding`: the socle's import files that create the missing agents, delete no one."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from certsync.commands.common import config_from_args, now_utc
from certsync.commands.options import add_roster, add_sheet
from certsync.config import default_data_dir
from certsync.connectors import make_connector
from certsync.errors import ExitCode, PlatformProtocolError
from certsync.findings import Code, any_blocking
from certsync.french import plural
from certsync.onboarding import Onboarding, prepare, write_workbook
from certsync.onboarding.fetch import fetch_exports
from certsync.roster import roster_sirens


def register_onboarding(sub: Any) -> None:
    """Add `onboarding` to the main parser."""
    p = sub.add_parser(
        "onboarding",
        help="préparer les fichiers « Importer une liste d'utilisateurs » du socle",
    )
    add_roster(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--export",
        type=Path,
        nargs="+",
        metavar="EXPORT",
        help="export_agent.csv téléchargé du socle (un ou plusieurs organismes)",
    )
    source.add_argument(
        "--url",
        help="adresse du socle : les exports de chaque organisme administré y sont "
        "téléchargés (rien n'est modifié sur le socle)",
    )
    p.add_argument("--config", type=Path, help="fichier de configuration TOML (avec --url)")
    p.add_argument("--organisation", help="un seul organisme : numéro, SIREN ou nom")
    p.add_argument(
        "--out",
        type=Path,
        help="dossier des fichiers (défaut : <data_dir>/rapports/onboarding-<date>-<heure>/)",
    )
    add_sheet(p)
    p.add_argument("--quiet", action="store_true", help="n'afficher que les problèmes")
    p.set_defaults(handler=cmd_onboarding)


def cmd_onboarding(args: argparse.Namespace) -> int:
    """`certsync onboarding`."""
    # Like every default, in the data folder: never where the command happens to be started.
    out = args.out or default_data_dir() / "rapports" / f"onboarding-{now_utc():%Y-%m-%d-%H%M%S}"
    exports = args.export or _download(args, out / "exports")
    result = prepare(args.roster, exports, out, organisation=args.organisation, sheet=args.sheet)
    workbook = out / "onboarding.xlsx"
    write_workbook(result, workbook)
    for line in summary_lines(result, quiet=args.quiet):
        print(line)
    print(f"Aperçu détaillé : {workbook}")
    return int(ExitCode.FINDINGS if any_blocking(result.findings) else ExitCode.OK)


def _download(args: argparse.Namespace, folder: Path) -> list[Path]:
    """The socle's exports, fetched as the administrator would (read only), kept in `folder`."""
    from certsync.connectors.socle import SocleConnector

    config = config_from_args(args)
    connector = make_connector(replace(config.platform, name="socle"), url=config.platform.url)
    assert isinstance(connector, SocleConnector)
    try:
        connector.check()
        fetched = fetch_exports(connector, list(roster_sirens(args.roster)), folder)
    finally:
        connector.close()
    for gap in fetched.gaps:
        print(f"Export impossible — {gap} : ses agents ne seront dans aucun fichier.")
    if not fetched.paths:
        raise PlatformProtocolError(
            "Aucun export d'organisme n'a pu être téléchargé du socle.",
            hint="Vérifiez que ce compte administre des organismes (certsync check --roster …) "
            "ou téléchargez l'export à la main et donnez-le avec --export.",
        )
    print(f"Exports du socle enregistrés dans {folder} ({plural(len(fetched.paths), 'fichier')}).")
    return list(fetched.paths)


def summary_lines(result: Onboarding, *, quiet: bool = False) -> list[str]:
    """The French summary: per file, what the socle's report will say."""
    lines: list[str] = []
    for plan in result.plans:
        org = plan.organisation.display
        if not plan.files and not quiet:
            lines.append(f"{org} : aucun agent à créer, pas de fichier.")
        for f in plan.files:
            lines.append(
                f"{org} — {f.path.name} : le rapport du socle doit annoncer {f.created} à "
                f"créer, {f.existing} dans l'import et sur myec3 (aucune valeur changée : "
                f"{plan.modified} modifié), {f.to_delete} à supprimer."
            )
        for account in plan.left_out:
            lines.append(
                f"  ATTENTION : {account.name} <{account.email}> sera listé « à supprimer » : "
                "NE PAS SUPPRIMER (jamais « Tout supprimer »)."
            )
    counts = {code: 0 for code in Code}
    for item in result.findings:
        counts[item.code] += 1
    left = sum(
        counts[c]
        for c in (
            Code.ONBOARD_VALUE_REFUSED,
            Code.ONBOARD_FIELD_MISSING,
            Code.ONBOARD_NO_ORGANISATION,
            Code.ONBOARD_OTHER_ORGANISATION,
            Code.ONBOARD_ACCOUNT_DISABLED,
        )
    )
    adapted = counts[Code.ONBOARD_VALUE_ADAPTED] + counts[Code.ONBOARD_VALUE_DROPPED]
    created = sum(len(p.newcomers) for p in result.plans)
    present = sum(p.already_present for p in result.plans)
    lines.append(
        f"{plural(result.roster_agents, 'agent')} dans la liste : {created} à créer, "
        f"{present} déjà sur le socle, {left} {'laissés' if left > 1 else 'laissé'} hors des "
        f"fichiers, {plural(adapted, 'valeur adaptée', 'valeurs adaptées')} ou laissée"
        f"{'s' if adapted > 1 else ''} vide{'s' if adapted > 1 else ''}."
    )
    if result.elsewhere:
        lines.append(
            f"{plural(result.elsewhere, 'agent')} d'autres organismes que celui demandé, "
            f"{'ignorés' if result.elsewhere > 1 else 'ignoré'}."
        )
    if not quiet:
        lines.append(
            "Importez chaque fichier dans le socle (« Gérer les utilisateurs » → « Importer une "
            "liste d'utilisateurs »), vérifiez que le rapport annonce les mêmes nombres, "
            "n'utilisez ni « Modifier » ni « Supprimer », créez les comptes, puis lancez "
            "certsync run."
        )
    return lines
