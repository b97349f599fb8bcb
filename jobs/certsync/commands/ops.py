"""Operations around runs: history, rollback, the renewal campaign, reminders, the sandbox."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from certsync.commands.common import (
    config_from_args,
    new_run_id,
    now_utc,
    prepare_outputs,
    recorded_run,
    setup_logging,
)
from certsync.commands.options import add_common, add_json, add_platform, add_state, add_within
from certsync.config import Config, reports_root
from certsync.errors import ExitCode, UsageError
from certsync.french import plural
from certsync.frenchfmt import fr_int
from certsync.holdings import platform_certificates
from certsync.logs import COUNT_LABELS
from certsync.notify import NotifyStatus, notify_expiring, write_eml
from certsync.renewal import expiring, headline, renewed, write_expiring
from certsync.rollback import RollbackStatus, rollback
from certsync.state import RunSummary, StateStore, history


def register_ops(sub: Any) -> None:
    """Add history, rollback, expiring, notify and sandbox to the main parser."""
    from certsync.sandbox.cli import add_parser as add_sandbox

    p = sub.add_parser("history", help="lister les exécutions passées")
    p.add_argument("--last", type=int, default=10, metavar="N", help="nombre d'exécutions")
    add_state(p)
    add_json(p)
    add_common(p)
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("rollback", help="remettre les certificats qu'une exécution a remplacés")
    p.add_argument("run_id", metavar="EXECUTION", help="identifiant (voir certsync history)")
    p.add_argument("--dry-run", action="store_true", help="montrer sans rien modifier")
    add_state(p)
    add_platform(p)
    add_common(p)
    p.set_defaults(handler=cmd_rollback)

    p = sub.add_parser("expiring", help="campagne de renouvellement : certificats qui expirent")
    add_within(p)
    p.add_argument("--report-dir", type=Path, help="dossier du rapport")
    add_state(p)
    add_platform(p, url="lire aussi les certificats présents sur la plateforme (tous les comptes)")
    add_common(p)
    p.set_defaults(handler=cmd_expiring)

    p = sub.add_parser("notify", help="envoyer les rappels de renouvellement par e-mail")
    add_within(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="montrer les messages sans envoyer, et les écrire en fichiers .eml",
    )
    p.add_argument("--report-dir", type=Path, help="dossier des fichiers .eml (--dry-run)")
    add_state(p)
    add_common(p)
    p.set_defaults(handler=cmd_notify)

    add_sandbox(sub)


def cmd_history(args: argparse.Namespace) -> int:
    """`certsync history`."""
    config = config_from_args(args)
    with StateStore.open(config.state) as store:
        runs = history(store, args.last)
    if args.json:
        print(json.dumps([_run_dict(r) for r in runs], ensure_ascii=False, indent=2))
        return 0
    if not runs:
        print("Aucune exécution enregistrée.")
    for r in runs:
        ended = f"{r.ended:%d/%m/%Y %H:%M}" if r.ended else "non terminée"
        counts = ", ".join(
            f"{COUNT_LABELS.get(k, k)} : {fr_int(v)}" for k, v in (r.counts or {}).items()
        )
        code = "?" if r.exit_code is None else str(r.exit_code)
        marks = "".join(f"  [{m}]" for m in run_marks(r))
        print(f"{r.run_id}  {r.command:8}  début {r.started:%d/%m/%Y %H:%M}  fin {ended}  "
              f"code {code}{marks}  {counts}")  # fmt: skip
    return 0


#: Exit codes of a run that stopped before the end of its work (platform gone, interrupted).
_INTERRUPTED_CODES = {int(ExitCode.PLATFORM_UNAVAILABLE), int(ExitCode.INTERRUPTED)}


def run_marks(run: RunSummary) -> list[str]:
    """French marks for `history`: a dry run, a run interrupted or never finished."""
    marks = []
    if run.parameters.get("dry_run"):
        marks.append("simulation")
    if run.ended is None:
        marks.append("interrompue : jamais terminée (arrêtée ou encore en cours)")
    elif run.exit_code in _INTERRUPTED_CODES:
        marks.append("interrompue : le reste sera repris")
    return marks


def _run_dict(run: Any) -> dict[str, Any]:
    return {
        "dry_run": bool(run.parameters.get("dry_run")),
        "interrupted": run.ended is None or run.exit_code in _INTERRUPTED_CODES,
        "run_id": run.run_id,
        "command": run.command,
        "started": run.started.isoformat(),
        "ended": run.ended.isoformat() if run.ended else None,
        "exit_code": run.exit_code,
        "counts": run.counts,
        "report_path": run.report_path,
    }


def cmd_rollback(args: argparse.Namespace) -> int:
    """`certsync rollback RUN_ID`."""
    from certsync.connectors import make_connector

    config = config_from_args(args)
    if not config.platform.url:
        raise UsageError(
            "Aucune plateforme indiquée pour le retour arrière.",
            hint="Donnez son adresse avec --url (ou [platform] url dans la configuration).",
        )
    started = now_utc()
    prepare_outputs(config, now=started)
    setup_logging(config, args)
    with recorded_run(
        config,
        command="rollback",
        run_id=new_run_id(started),
        started=started,
        parameters={"target": args.run_id, "dry_run": args.dry_run},
    ) as record:
        connector = make_connector(config.platform, url=config.platform.url)
        try:
            connector.check()
            outcomes = rollback(
                record.store,
                connector,
                args.run_id,
                rollback_run_id=record.run_id,
                now=started,
                dry_run=args.dry_run,
                config=config.platform,
            )
        finally:
            connector.close()
        failed = {RollbackStatus.FAILED, RollbackStatus.VERIFY_FAILED}
        record.code = (
            ExitCode.FINDINGS if any(o.status in failed for o in outcomes) else ExitCode.OK
        )
        record.counts = dict(Counter(str(o.status) for o in outcomes))
    if not outcomes:
        print(f"L'exécution {args.run_id} n'a modifié aucun compte : rien à remettre.")
    for o in outcomes:
        print(f"{o.email} : {o.message}")
    return int(record.code)


def cmd_expiring(args: argparse.Namespace) -> int:
    """`certsync expiring --within DAYS`."""
    config = config_from_args(args)
    now = now_utc()
    report_dir = args.report_dir or reports_root(config) / f"expiration-{now:%Y-%m-%d-%H%M%S}"
    outputs = prepare_outputs(config, now=now, report_dir=report_dir)
    try:
        return _expiring(args, config, report_dir, now)
    finally:
        outputs.forget_empty_report()


def _expiring(args: argparse.Namespace, config: Config, report_dir: Path, now: dt.datetime) -> int:
    as_of = (args.as_of or now).date()
    platform = platform_certificates(config) if config.platform.url else None
    with StateStore.open(config.state) as store:
        entries = expiring(store, args.within, as_of, platform)
        done = renewed(store, args.within, as_of)
    paths = write_expiring(entries, report_dir, as_of, args.within, done)
    print(headline(entries, args.within, as_of))
    if done:
        print(f"  Déjà renouvelés : {plural(len(done), 'certificat')} (voir le classeur).")
    print(f"  Rapport : {paths['xlsx']}")
    print(f"  Publipostage : {paths['csv']}")
    return 0


#: The sender shown in a preview when the configuration names none yet.
PREVIEW_SENDER = "expediteur-a-configurer@exemple.invalid"


def cmd_notify(args: argparse.Namespace) -> int:
    """`certsync notify --within DAYS`; with --dry-run, no [smtp] section is needed."""
    config = config_from_args(args)
    now = now_utc()
    preview_dir = None
    if args.dry_run:
        preview_dir = args.report_dir or reports_root(config) / f"rappels-{now:%Y-%m-%d-%H%M%S}"
        if not config.smtp.sender:
            config = replace(config, smtp=replace(config.smtp, sender=PREVIEW_SENDER))
    outputs = prepare_outputs(config, now=now, report_dir=preview_dir)
    setup_logging(config, args)
    as_of = (args.as_of or now).date()
    try:
        with recorded_run(
            config,
            command="notify",
            run_id=new_run_id(now),
            started=now,
            parameters={"within": args.within, "dry_run": args.dry_run},
        ) as record:
            outcomes = notify_expiring(
                record.store,
                config.smtp,
                within_days=args.within,
                as_of=as_of,
                now=now,
                run_id=record.run_id,
                dry_run=args.dry_run,
            )
            failed = any(o.status is NotifyStatus.FAILED for o in outcomes)
            record.code = ExitCode.FINDINGS if failed else ExitCode.OK
            record.counts = dict(Counter(str(o.status) for o in outcomes))
            written = write_eml(outcomes, preview_dir) if preview_dir is not None else []
            if written:
                record.report = preview_dir
    finally:
        outputs.forget_empty_report()
    for o in outcomes:
        if args.quiet and o.status is NotifyStatus.ALREADY_SENT:
            continue  # a quiet Monday mentions only what it sent or could not send
        print(f"{o.email} : {o.message}")
        if args.dry_run and o.mail is not None:
            print("  " + o.mail.get_content().replace("\n", "\n  "))
    if not outcomes and not args.quiet:
        print(f"Aucun certificat n'expire d'ici {plural(args.within, 'jour')}.")
    if written:
        print(f"Messages (simulation, rien n'a été envoyé) : {len(written)} fichier(s) .eml dans "
              f"{preview_dir}")  # fmt: skip
    if args.dry_run and config.smtp.sender == PREVIEW_SENDER:
        print("  Expéditeur à indiquer dans la section [smtp] (sender) avant l'envoi réel.")
    return int(record.code)
