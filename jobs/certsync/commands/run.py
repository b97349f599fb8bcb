"""`certsync run`: one run under the lock, recorded in the state, reported in French."""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from certsync.certfiles.scan import Entry
from certsync.commands.common import config_from_args, new_run_id, now_utc, setup_logging
from certsync.config import Config
from certsync.errors import CertsyncError, ExitCode, UsageError
from certsync.ingest import Checked, CheckSetup, check_file, make_validator
from certsync.lock import RunLock
from certsync.logs import progress, summary_line, write_status
from certsync.pipeline import Hooks, RunRequest, check_inputs, load_trust_store, run
from certsync.records import RunResult
from certsync.report import write_reports
from certsync.report.rows import AGENT_STATUS_FR, FILE_STATUS_FR
from certsync.state import StateStore

log = logging.getLogger("certsync")


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


class _Cache:
    """The state's file cache, seen by the ingest stage: unchanged files are not parsed again."""

    def __init__(self, store: StateStore, setup: CheckSetup, config: Config, folder: str) -> None:
        self.store = store
        self.folder = folder
        self._validator = make_validator(setup, load_trust_store(config))
        self._known = store.cached_files(folder=folder)

    def get(self, entry: Entry) -> Checked | None:
        hit = self._known.get(entry.rel)
        if hit is None or (hit.size, hit.mtime_ns) != (entry.size, entry.mtime_ns):
            return None
        return check_file(hit, self._validator)

    def put(self, checked: Sequence[Checked]) -> None:
        fresh = [
            c.file
            for c in checked
            if (known := self._known.get(c.file.path)) is None
            or (known.size, known.mtime_ns) != (c.file.size, c.file.mtime_ns)
        ]
        self.store.put_cached_many(fresh, folder=self.folder)


def cmd_run(args: argparse.Namespace) -> int:
    """`certsync run`."""
    config = config_from_args(args)
    setup_logging(config, args)
    started = now_utc()
    as_of = args.as_of or started
    run_id = new_run_id(started)
    report_dir = (
        args.report_dir or config.report_dir or Path("reports") / f"{started:%Y-%m-%d-%H%M%S}"
    )
    url = config.platform.url
    if not args.dry_run and not url:
        raise UsageError(
            "Aucune plateforme indiquée pour le dépôt.",
            hint="Donnez son adresse avec --url (ou [platform] url dans la configuration), "
            "ou ajoutez --dry-run pour une simulation.",
        )
    check_inputs(args.roster, args.certs)
    parameters = {
        "Plateforme": config.platform.name + (f" ({url})" if url else " (hors ligne)"),
        "Fichier d'état": str(config.state),
    }
    with (
        RunLock(config.state, run_id=run_id, started=started),
        StateStore.open(config.state) as store,
    ):
        store.begin_run(
            run_id=run_id,
            command="run",
            started=started,
            parameters={
                "roster": str(args.roster),
                "certs": str(args.certs),
                "dry_run": args.dry_run,
                "platform": config.platform.name,
                "url": url,
                "as_of": as_of.date().isoformat(),
            },
        )
        code = ExitCode.INTERNAL
        counts: dict[str, int] = {}
        try:
            setup = CheckSetup(config.trust, config.policy, as_of)
            cache = _Cache(store, setup, config, str(args.certs.resolve()))
            pusher = None
            if url:
                from certsync.pushing import make_pusher

                pusher = make_pusher(
                    config,
                    url=url,
                    store=store,
                    run_id=run_id,
                    dry_run=args.dry_run,
                    create_missing=args.create_missing,
                    as_of=as_of,
                    clock=now_utc,
                )
            with progress(0, "Lecture des fichiers") as bar:
                hooks = Hooks(cached=cache.get, store=cache.put, tick=bar.advance, pusher=pusher)
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
            paths = write_reports(result, report_dir)
            code = exit_code_for(result)
            counts = counts_of(result)
        except CertsyncError as exc:
            code = exc.exit_code
            raise
        finally:
            ended = now_utc()
            store.end_run(
                run_id,
                ended=ended,
                exit_code=int(code),
                counts=counts,
                report_path=report_dir if counts else None,
            )
            write_status(
                config.status_file,
                run_id=run_id,
                exit_code=int(code),
                counts=counts,
                report_path=report_dir if counts else None,
                started=started,
                ended=ended,
            )
            summary_line(
                run_id=run_id,
                command="run",
                exit_code=int(code),
                counts=counts,
                started=started,
                ended=ended,
            )
    print_summary(result, paths["xlsx"].parent, code, quiet=args.quiet)
    return int(code)


def print_summary(result: RunResult, report_dir: Path, code: ExitCode, *, quiet: bool) -> None:
    """A short French summary on standard output."""
    agents = Counter(a.status for a in result.agents)
    files = Counter(f.status for f in result.files)
    blocking = sum(1 for f in result.all_findings if f.blocking)
    if quiet and code == ExitCode.OK and not result.notices:
        return
    lines = [f"ATTENTION : {notice}" for notice in result.notices]
    mode = "simulation, rien n'a été déposé" if result.dry_run else "dépôt réel"
    lines.append(f"certsync — exécution {result.run_id} ({mode})")
    lines.append(
        f"  Agents : {len(result.agents)} — "
        + ", ".join(f"{AGENT_STATUS_FR[s]} : {n}" for s, n in agents.items())
    )
    lines.append(
        f"  Fichiers : {len(result.files)} — "
        + ", ".join(f"{FILE_STATUS_FR[s]} : {n}" for s, n in files.items())
    )
    lines.append(f"  Constats bloquants : {blocking}")
    if result.stop_code == ExitCode.PLATFORM_UNAVAILABLE:
        lines.append(
            "  La plateforme ne répond plus : le reste sera repris à la prochaine exécution."
        )
    elif result.stop_code is not None:
        lines.append("  Les dépôts ont été interrompus (voir le rapport).")
    lines.append(f"  Rapport : {report_dir / 'exceptions.xlsx'}")
    print("\n".join(lines))
