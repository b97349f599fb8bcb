"""`certsync check`: a read-only first contact with a platform, told in French."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from certsync.commands.common import config_from_args, setup_logging
from certsync.commands.options import add_common, add_platform
from certsync.connectors.interface import Rejected, Survey, Unavailable
from certsync.errors import (
    ExitCode,
    PlatformAuthError,
    PlatformProtocolError,
    PlatformUnavailable,
    UsageError,
)
from certsync.roster import roster_sirens


def register_check(sub: Any) -> None:
    """Add `check` to the main parser."""
    p = sub.add_parser(
        "check", help="vérifier l'accès à une plateforme sans rien modifier (premier contact)"
    )
    add_platform(p)
    p.add_argument(
        "--roster",
        type=Path,
        help="liste des agents : ses SIREN désignent les organismes à vérifier (socle, "
        "administrateur fonctionnel)",
    )
    add_common(p)
    p.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Log in, name the identity, list organisations with their account counts, never write.

    Exit 0 when everything needed for a push is there; the platform's failures keep their own
    codes (69 unreachable, 76 unexpected answer, 77 credentials refused or rights missing).
    """
    from certsync.connectors import make_connector

    config = config_from_args(args)
    setup_logging(config, args)
    url = config.platform.url
    if not url:
        raise UsageError(
            "Aucune plateforme indiquée pour la vérification.",
            hint="Donnez son adresse avec --url (ou [platform] url dans la configuration).",
        )
    sirens = roster_sirens(args.roster) if args.roster else ()
    connector = make_connector(config.platform, url=url)
    if sirens:
        connector.use_sirens(sirens)
    try:
        survey = connector.survey()
    except Unavailable as exc:
        raise PlatformUnavailable(
            f"La plateforme n'a pas répondu pendant la vérification ({exc.reason}).",
            hint="Vérifiez l'adresse et le réseau, puis relancez « certsync check ».",
        ) from exc
    except Rejected as exc:
        raise PlatformProtocolError(
            f"La plateforme a refusé une lecture pendant la vérification : « {exc.message} ».",
            hint="Vérifiez les droits de ce compte sur la plateforme.",
        ) from exc
    finally:
        connector.close()
    print(describe(config.platform.name, url, survey))
    if not survey.organisations:
        # Nothing to look at is not a missing right: say what to give instead.
        raise UsageError(
            "Connexion réussie, mais aucun organisme ou aucune entité n'a été trouvé pour ce "
            "compte : " + (" ; ".join(survey.notes) or "aucun compte listé") + ".",
            hint="Pour un administrateur fonctionnel du socle, donnez la liste des agents "
            "(--roster) pour en lire les SIREN, ou « organisations = [...] » dans la section "
            "[platform] de la configuration."
            if config.platform.name == "socle"
            else "Vérifiez que ce compte administre des utilisateurs sur la plateforme.",
        )
    if not survey.can_edit:
        raise PlatformAuthError(
            "Ce compte peut se connecter mais n'a pas le droit de modifier un agent : aucun "
            "dépôt ne serait possible.",
            hint="Demandez à l'administrateur de Mégalis les droits d'administration des "
            "agents (organisme ou entité) pour ce compte, puis relancez « certsync check ».",
        )
    return int(ExitCode.OK)


def describe(platform: str, url: str, survey: Survey) -> str:
    """The French account of a survey, for the administrator."""
    lines = [
        f"Plateforme {platform} ({url}) : connexion réussie, rien n'a été modifié.",
        f"  Identité : {survey.identity}",
    ]
    total = sum(o.accounts for o in survey.organisations)
    lines.append(
        f"  Organisations ou entités accessibles : {len(survey.organisations)} "
        f"({total} compte(s) en tout)"
    )
    for org in survey.organisations:
        name = " ".join(part for part in (org.label, f"({org.id})" if org.id else "") if part)
        lines.append(f"    - {name or 'sans nom'} : {org.accounts} compte(s)")
    lines.append(
        "  Modification d'un agent : "
        + ("possible" if survey.can_edit else "IMPOSSIBLE avec ce compte")
    )
    lines.extend(f"  Remarque : {note}" for note in survey.notes)
    return "\n".join(lines)
