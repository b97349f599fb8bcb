"""`certsync run`: one run under the lock, recorded in the state, reported in French."""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import gc
import json
import logging
import shutil
import sys
from collections import Counter
from pathlib import Path

from certsync import shortcut
from certsync.certfiles.scan import Entry, list_files
from certsync.commands.common import (
    config_from_args,
    new_run_id,
    now_utc,
    prepare_outputs,
    recorded_run,
    setup_logging,
)
from certsync.commands.decisions import with_workbook_decisions
from certsync.config import Config, reports_root
from certsync.decisionbook import decisions_digest
from certsync.errors import CertsyncError, ExitCode, OutputError, UsageError
from certsync.frenchfmt import fr_int
from certsync.fsutil import atomic_path
from certsync.housekeeping import prune_reports
from certsync.meter import Meter
from certsync.novelty import new_problems
from certsync.pipeline import Hooks, RunRequest, check_inputs, run, stage
from certsync.plan import plan_summary
from certsync.preflight import utf8_paths
from certsync.push import Selection
from certsync.records import AgentStatus, RunResult
from certsync.report import write_reports
from certsync.report.mail import previous_report, recipients, send_summary, send_unchanged
from certsync.report.rows import AGENT_STATUS_FR, FILE_STATUS_FR
from certsync.state import RunSummary, StateStore

log = logging.getLogger("certsync")


def _emails(value: str) -> frozenset[str]:
    emails = frozenset(e.strip().casefold() for e in value.split(",") if e.strip())
    if not emails or any("@" not in e for e in emails):
        raise argparse.ArgumentTypeError(
            f"liste d'e-mails invalide « {value} » (attendu : EMAIL[,EMAIL…])"
        )
    return emails


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"nombre invalide « {value} » (entier de 1 ou plus)")
    return number


def add_selection(parser: argparse.ArgumentParser) -> None:
    """`--only` and `--limit`: a careful first real push on a few agents."""
    parser.add_argument(
        "--only",
        type=_emails,
        metavar="EMAIL[,EMAIL…]",
        help="ne déposer que pour ces agents ; les autres sont préparés et rapportés, pas écrits",
    )
    parser.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help="déposer au plus N certificats (les premiers de la liste) ; le reste est rapporté",
    )


def exit_code_for(result: RunResult) -> ExitCode:
    """Map a run's result to the documented exit code."""
    if result.stop_code is not None:
        return ExitCode(result.stop_code)
    return ExitCode.FINDINGS if result.has_blocking else ExitCode.OK


def counts_of(result: RunResult) -> dict[str, int]:
    """Counts kept in the state, the status file and the summary line."""
    counts = Counter(str(a.status) for a in result.agents)
    counts["files"] = len(result.files)
    counts["blocking"] = sum(1 for f in result.all_findings if f.blocking)
    return dict(sorted(counts.items()))


def cmd_run(args: argparse.Namespace) -> int:
    """`certsync run`, with the cyclic garbage collector paused.

    A run allocates millions of long-lived, acyclic objects; the collector would rescan them
    over and over (measured at 100,000 agents: 21 s with it running, 17 s without).
    """
    gc.disable()
    try:
        return _cmd_run(args)
    finally:
        gc.enable()


def _cmd_run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    started = now_utc()
    report_dir = (
        args.report_dir or config.report_dir or reports_root(config) / f"{started:%Y-%m-%d-%H%M%S}"
    )
    if not args.dry_run and not config.platform.url:
        raise UsageError(
            "Aucune plateforme indiquée pour le dépôt.",
            hint="Donnez son adresse avec --url (ou [platform] url dans la configuration), "
            "ou ajoutez --dry-run pour une simulation.",
        )
    utf8_paths(
        {
            "de la liste des agents": args.roster,
            "du dossier des certificats": args.certs,
            "du magasin de confiance": config.trust,
            "du fichier de décisions": config.decisions,
        },
        {
            "du fichier d'état": config.state,
            "du rapport": report_dir,
            "du journal": config.log_file,
            "du fichier de supervision": config.status_file,
        },
    )
    check_inputs(args.roster, args.certs)
    # Everything the run writes is checked, and created, before the platform is read or
    # written (this covers the reliability branch's writable_folder checks, and more).
    outputs = prepare_outputs(config, now=started, report_dir=report_dir, status_file=True)
    try:
        return _recorded(args, config, started, report_dir)
    finally:
        outputs.forget_empty_report()


def _recorded(
    args: argparse.Namespace, config: Config, started: dt.datetime, report_dir: Path
) -> int:
    setup_logging(config, args)
    for folder in prune_reports(reports_root(config), keep_days=config.keep_days, now=started):
        log.info("old report folder deleted: %s", folder)
    as_of = args.as_of or started
    run_id = new_run_id(started)
    url = config.platform.url
    with recorded_run(
        config,
        command="run",
        run_id=run_id,
        started=started,
        parameters={
            "roster": str(args.roster),
            "certs": str(args.certs),
            "dry_run": args.dry_run,
            "platform": config.platform.name,
            "url": url,
            "as_of": as_of.date().isoformat(),
            "only": sorted(args.only) if args.only else None,
            "limit": args.limit,
        },
        status_file=True,
        new_state=args.new_state,
    ) as record:
        store = record.store
        config = with_workbook_decisions(
            config, store, roster=args.roster, certs=args.certs, sheet=args.sheet
        )
        entries = list_files(args.certs)
        fingerprint = shortcut.fingerprint(
            roster=args.roster,
            sheet=args.sheet,
            certs=args.certs,
            entries=entries,
            config=config,
            dry_run=args.dry_run,
            create_missing=args.create_missing,
            extra=decisions_digest(store),
        )
        selective = args.only is not None or args.limit is not None
        previous = None if args.full or selective else store.reusable_run(fingerprint, as_of)
        if previous is not None and _reuse(previous, run_id, report_dir):
            record.code = ExitCode(previous.exit_code or 0)
            record.counts = dict(previous.counts)
            record.report = report_dir.resolve()
            record.findings = {"blocking": record.counts.get("blocking", 0), "new": 0}
            if not args.quiet:
                print(
                    f"certsync — exécution {run_id} : rien n'a changé depuis l'exécution "
                    f"{previous.run_id} (liste, fichiers, réglages) ; son résultat est repris.\n"
                    f"  Rapport : {report_dir / 'exceptions.xlsx'}\n"
                    f"  Fichier d'état : {config.state}"
                )
            _tell(send_unchanged(run_id, previous.run_id, record.report, config, now_utc()))
            return int(record.code)
        result, stopped = _full_run(args, config, store, run_id, as_of, entries, url)
        with stage("report"):
            paths = _write_reports(result, report_dir)
        # Read only when a summary is to be sent: at 100,000 agents it is a large file.
        last = previous_report(store, run_id) if recipients(config) else None
        record.code = exit_code_for(result)
        record.counts = counts_of(result)
        record.report = report_dir.resolve()
        fresh = new_problems(result, config.state)
        record.findings = {"blocking": record.counts.get("blocking", 0), "new": fresh}
        store.record_inputs(
            run_id,
            fingerprint=fingerprint,
            as_of=as_of,
            valid_until=result.valid_until,
            settled=shortcut.settled(result, config),
        )
    code = record.code
    if not args.quiet or _news(result, code, fresh) or stopped is not None:
        print_summary(result, paths["xlsx"].parent, code, state=config.state, new=fresh)
    if stopped is not None:
        print(f"certsync : {stopped.message}", file=sys.stderr)
        if stopped.hint:
            print(f"  → {stopped.hint}", file=sys.stderr)
    _tell(send_summary(result, last, report_dir.resolve(), config, now_utc()))
    return int(code)


def _news(result: RunResult, code: ExitCode, fresh: int) -> bool:
    """Whether a quiet run has something to say: a new problem, a push, or an error."""
    pushed = any(a.status is AgentStatus.PUSHED for a in result.agents)
    return fresh > 0 or pushed or code not in (ExitCode.OK, ExitCode.FINDINGS)


def _write_reports(result: RunResult, report_dir: Path) -> dict[str, Path]:
    """The reports; a full disk or an unwritable folder is a clear stop (73), not an
    internal error: what was pushed is already in the state file."""
    try:
        return write_reports(result, report_dir)
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise OutputError(
            f"Le disque est plein : le rapport n'a pas pu être écrit dans {report_dir}."
            if full
            else f"Le rapport n'a pas pu être écrit dans {report_dir} ({exc.strerror or exc}).",
            hint="Les dépôts faits sont dans le fichier d'état (certsync history) et ne seront "
            "pas redéposés ; libérez de la place ou corrigez --report-dir puis relancez.",
        ) from exc


def _tell(note: str | None) -> None:
    """Say what became of the summary e-mail (nothing when none is configured)."""
    if note:
        print(note)


def _full_run(
    args: argparse.Namespace,
    config: Config,
    store: StateStore,
    run_id: str,
    as_of: dt.datetime,
    entries: list[Entry],
    url: str,
) -> tuple[RunResult, CertsyncError | None]:
    """The run, and the error that stopped its pushes early, if any (told on stderr)."""
    folder = str(args.certs.resolve())
    pusher = None
    if url:
        from certsync.pushing import make_pusher

        pusher = make_pusher(
            config,
            certs_root=args.certs,
            url=url,
            store=store,
            run_id=run_id,
            dry_run=args.dry_run,
            create_missing=args.create_missing,
            as_of=as_of,
            clock=now_utc,
            selection=Selection(args.only, args.limit),
        )
    parameters = {
        "Plateforme": config.platform.name + (f" ({url})" if url else " (hors ligne)"),
        "Fichier d'état": str(config.state),
    }
    if args.only is not None or args.limit is not None:
        chosen = [", ".join(sorted(args.only))] if args.only else []
        chosen += [f"au plus {args.limit}"] if args.limit is not None else []
        parameters["Sélection (dépôt limité)"] = " ; ".join(chosen)
    with Meter() as meter:
        meter.start("files", "Lecture et vérification des fichiers", len(entries))

        def tick(n: int) -> None:
            meter.advance("files", n)

        if pusher is not None:
            pusher.meter = meter  # one display for the whole run: files, accounts, pushes
        hooks = Hooks(
            entries=entries,
            store=store,
            cache=store.file_cache(folder),
            tick=tick,
            pusher=pusher,
        )
        request = RunRequest(
            roster=args.roster,
            certs=args.certs,
            config=config,
            as_of=as_of,
            run_id=run_id,
            dry_run=args.dry_run,
            sheet=args.sheet,
            parameters=parameters,
        )
        result = run(request, hooks)
    return result, (pusher.stop_error if pusher is not None else None)


def _reuse(previous: RunSummary, run_id: str, report_dir: Path) -> bool:
    """Copy the previous run's report under this run's id; False if it is gone."""
    source = Path(previous.report_path or "")
    names = ("exceptions.xlsx", "exceptions.csv", "agents.csv", "report.json")
    if not all((source / name).is_file() for name in names):
        return False
    report_dir.mkdir(parents=True, exist_ok=True)
    for name in names[:3]:
        with atomic_path(report_dir / name) as tmp:
            shutil.copyfile(source / name, tmp)
    # report.json starts with its run id on the second line: patch it and stream the rest.
    with (source / "report.json").open("rb") as src, atomic_path(report_dir / "report.json") as tmp:
        first, old_line = src.readline(), src.readline()
        if not old_line.startswith(b'"run_id":'):
            return False
        line = f'"run_id":{json.dumps(run_id)},\n"reused_from":{json.dumps(previous.run_id)},\n'
        with tmp.open("wb") as out:
            out.write(first + line.encode())
            shutil.copyfileobj(src, out)
    return True


def print_summary(
    result: RunResult, report_dir: Path, code: ExitCode, *, state: Path, new: int | None = None
) -> None:
    """A short French summary on standard output."""
    agents = Counter(a.status for a in result.agents)
    files = Counter(f.status for f in result.files)
    blocking = sum(1 for f in result.all_findings if f.blocking)
    lines = [f"ATTENTION : {notice}" for notice in result.notices]
    mode = "simulation, rien n'a été déposé" if result.dry_run else "dépôt réel"
    lines.append(f"certsync — exécution {result.run_id} ({mode})")
    lines.append(
        f"  Agents : {fr_int(len(result.agents))} — "
        + ", ".join(f"{AGENT_STATUS_FR[s]} : {fr_int(n)}" for s, n in agents.items())
    )
    lines.append(
        f"  Fichiers : {fr_int(len(result.files))} — "
        + ", ".join(f"{FILE_STATUS_FR[s]} : {fr_int(n)}" for s, n in files.items())
    )
    plan = plan_summary(result)
    if plan:
        lines.append(f"  {'Plan' if result.dry_run else 'Prévu avant le dépôt'} : {plan}")
    lines.append(
        f"  Constats bloquants : {fr_int(blocking)}"
        + (f" (nouveaux depuis la dernière exécution : {fr_int(new)})" if new is not None else "")
    )
    if result.stop_code == ExitCode.PLATFORM_UNAVAILABLE:
        lines.append(
            "  La plateforme ne répond plus : le reste sera repris à la prochaine exécution."
        )
    elif result.stop_code is not None:
        lines.append("  Les dépôts ont été interrompus (voir le rapport).")
    lines.append(f"  Rapport : {report_dir.resolve() / 'exceptions.xlsx'}")
    lines.append(f"  Fichier d'état : {state.resolve()}")
    print("\n".join(lines))
