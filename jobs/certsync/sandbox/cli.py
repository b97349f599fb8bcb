"""The `certsync sandbox` subcommand: run a local stand-in of a Mégalis platform until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from certsync.sandbox import PLATFORMS, start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER

DESCRIPTION = (
    "Lance une copie locale et fidèle d'une plateforme Mégalis (socle, S²LOW ou Pastell) pour "
    "essayer certsync sans toucher à la production. Identifiants acceptés : CERTSYNC_USER et "
    "CERTSYNC_PASSWORD, ou CERTSYNC_TOKEN, s'ils sont définis ; sinon les identifiants de "
    f"démonstration {DEMO_USER} / {DEMO_PASSWORD} (jeton {DEMO_TOKEN}). "
    "GET /__sandbox__/accounts (sans identifiants) liste les comptes, l'empreinte SHA-256 de "
    "leur certificat et le nombre d'écritures reçues."
)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("doit être compris entre 0 et 1 (ex. 0.3 pour 30 %)")
    return value


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Register `sandbox` on the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "sandbox", help="lancer une plateforme Mégalis locale de test", description=DESCRIPTION
    )
    parser.add_argument(
        "--platform",
        choices=PLATFORMS,
        required=True,
        help=f"plateforme à simuler : {', '.join(PLATFORMS[:-1])} ou {PLATFORMS[-1]}",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="adresse d'écoute (défaut : 127.0.0.1, cette machine seulement)",
    )
    parser.add_argument("--port", type=int, default=8765, help="port d'écoute (défaut : 8765)")
    parser.add_argument(
        "--accounts",
        type=Path,
        metavar="FICHIER",
        help="CSV des comptes à créer au démarrage (colonnes e-mail, nom, prénom ; "
        "l'export export_agent.csv du socle est aussi accepté)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FICHIER",
        help="fichier JSON où les comptes sont enregistrés ; un redémarrage les retrouve",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        metavar="N",
        help="délai ajouté à chaque réponse, en millisecondes",
    )
    parser.add_argument(
        "--fail-rate",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="part des requêtes refusées par une erreur 503 (ex. 0.3)",
    )
    parser.add_argument(
        "--throttle-every",
        type=int,
        default=0,
        metavar="N",
        help="une requête sur N refusée par une erreur 429 (Retry-After : 1)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1234,
        help="graine du tirage des erreurs, pour rejouer un scénario",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or until `stop` is set, for tests); return the exit code."""
    try:
        handle = start_sandbox(
            args.platform,
            accounts=args.accounts,
            state=args.state,
            latency_ms=args.latency_ms,
            fail_rate=args.fail_rate,
            throttle_every=args.throttle_every,
            seed=args.seed,
            host=args.host,
            port=args.port,
        )
    except OSError as exc:
        print(
            f"Impossible d'écouter sur {args.host}:{args.port} : {exc.strerror or exc}.",
            file=sys.stderr,
        )
        return 69
    except (ValueError, KeyError) as exc:
        print(f"Fichier de comptes ou d'état inutilisable : {exc}", file=sys.stderr)
        return 66
    count = len(handle.accounts())
    sso = f", connexion SSO (Keycloak) sur {handle.sso.url}" if handle.sso is not None else ""
    print(
        f"Plateforme {args.platform} simulée sur {handle.url} ({count} comptes{sso}). "
        "Ctrl-C pour arrêter.",
        file=sys.stderr,
    )
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m certsync.sandbox.cli`, until the main CLI hooks `add_parser` in."""
    parser = argparse.ArgumentParser(prog="certsync")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
