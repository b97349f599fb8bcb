"""Command handlers: turn parsed arguments into library calls and French output."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from certsync.certfiles.scan import read_file
from certsync.config import Config, load_config
from certsync.errors import ExitCode, InputError
from certsync.findings import Finding
from certsync.ingest import CheckSetup, make_validator
from certsync.pipeline import RunRequest, load_trust_store, run
from certsync.records import AgentStatus, CertFile, RunResult
from certsync.report import write_reports
from certsync.report.rows import AGENT_STATUS_FR, FILE_STATUS_FR

#: Registrars of further sub-commands: (subparsers, add_common_options) → None.
EXTRA_COMMANDS: list[Callable[[Any, Callable[[argparse.ArgumentParser], None]], None]] = []


def now_utc() -> dt.datetime:
    """The current instant (the only place the clock is read for a run)."""
    return dt.datetime.now(dt.UTC)


def crash_log_path(args: argparse.Namespace) -> Path:
    """Where internal errors' tracebacks go."""
    try:
        return load_config(getattr(args, "config", None)).log_file.with_name("certsync-crash.log")
    except Exception:
        return Path("var/certsync-crash.log")


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration file with command-line overrides applied."""
    config = load_config(args.config)
    if getattr(args, "trust", None) is not None:
        config = replace(config, trust=args.trust)
    if getattr(args, "decisions", None) is not None:
        config = replace(config, decisions=args.decisions)
    if getattr(args, "state", None) is not None:
        config = replace(config, state=args.state)
    if getattr(args, "skip_chain_check", False):
        config = replace(config, policy=replace(config.policy, skip_chain_check=True))
    platform = config.platform
    if getattr(args, "platform", None):
        platform = replace(platform, name=args.platform)
    if getattr(args, "url", None):
        platform = replace(platform, url=args.url)
    return replace(config, platform=platform)


def new_run_id(moment: dt.datetime) -> str:
    """A sortable, unique run identifier."""
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def exit_code_for(result: RunResult) -> ExitCode:
    """Map a run's result to the documented exit code."""
    if result.breaker_open:
        return ExitCode.PLATFORM_UNAVAILABLE
    return ExitCode.FINDINGS if result.has_blocking else ExitCode.OK


def cmd_run(args: argparse.Namespace) -> int:
    """`certsync run`."""
    config = config_from_args(args)
    started = now_utc()
    as_of = args.as_of or started
    run_id = new_run_id(started)
    report_dir = (
        args.report_dir or config.report_dir or Path("reports") / f"{started:%Y-%m-%d-%H%M%S}"
    )
    if not args.dry_run:
        from certsync.pushing import push_hooks

        hooks = push_hooks(config, args)
    else:
        from certsync.pipeline import Hooks

        hooks = Hooks()
    request = RunRequest(
        roster=args.roster,
        certs=args.certs,
        config=config,
        as_of=as_of,
        run_id=run_id,
        dry_run=args.dry_run,
        sheet=args.sheet,
        parameters={
            "Plateforme": config.platform.name
            + (f" ({config.platform.url})" if config.platform.url else "")
        },
    )
    result = run(request, hooks)
    paths = write_reports(result, report_dir)
    code = exit_code_for(result)
    print_summary(result, paths["xlsx"].parent, code, quiet=args.quiet)
    return int(code)


def print_summary(result: RunResult, report_dir: Path, code: ExitCode, *, quiet: bool) -> None:
    """A short French summary on standard output."""
    agents = Counter(a.status for a in result.agents)
    files = Counter(f.status for f in result.files)
    blocking = sum(1 for f in result.all_findings if f.blocking)
    lines = []
    for notice in result.notices:
        lines.append(f"ATTENTION : {notice}")
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
    if result.breaker_open:
        lines.append(
            "  La plateforme ne répond plus : le reste sera repris à la prochaine exécution."
        )
    lines.append(f"  Rapport : {report_dir / 'exceptions.xlsx'}")
    if quiet and code == ExitCode.OK and not result.notices:
        return
    print("\n".join(lines))


def _describe_file(cf: CertFile, findings: list[Finding]) -> dict[str, Any]:
    info = cf.cert
    out: dict[str, Any] = {"fichier": cf.path, "format": str(cf.format)}
    if info is not None:
        out.update(
            {
                "sujet": info.subject,
                "emetteur": info.issuer,
                "numero_de_serie": info.serial,
                "valide_du": info.not_before.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "valide_au": info.not_after.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "sha256": info.sha256,
                "sha1": info.sha1,
                "cle": f"{info.key_type} {info.key_size} bits"
                + (f" ({info.key_curve})" if info.key_curve else ""),
                "usage_de_cle": list(info.key_usage),
                "usage_etendu": list(info.extended_key_usage),
                "politiques": list(info.policies),
                "emails": list(info.emails),
                "organisme": list(info.org_ids),
                "chaine_incluse": [c.subject for c in cf.chain],
            }
        )
    out["constats"] = [
        {
            "code": str(f.code),
            "gravite": f.severity.label,
            "message": f.message(),
            "action": f.action(),
        }
        for f in findings
    ]
    return out


_LABELS = {
    "format": "Format",
    "sujet": "Sujet",
    "emetteur": "Émetteur",
    "numero_de_serie": "Numéro de série",
    "valide_du": "Valide du",
    "valide_au": "Valide au",
    "sha256": "SHA-256",
    "sha1": "SHA-1",
    "cle": "Clé",
    "usage_de_cle": "Usage de clé",
    "usage_etendu": "Usage étendu",
    "politiques": "Politiques",
    "emails": "E-mail",
    "organisme": "SIREN/SIRET",
    "chaine_incluse": "Chaîne incluse",
}


def cmd_inspect(args: argparse.Namespace) -> int:
    """`certsync inspect`: what each file is and every finding about it."""
    config = config_from_args(args)
    as_of = args.as_of or now_utc()
    trust = load_trust_store(config)
    validator = make_validator(CheckSetup(config.trust, config.policy, as_of), trust)
    described = []
    blocking = False
    for path in args.files:
        if not path.is_file():
            raise InputError(
                f"Fichier introuvable : {path}.", hint="Vérifiez le chemin du certificat."
            )
        cf = read_file(path.parent, path.name, config.limits)
        findings = list(cf.findings)
        if cf.cert is not None:
            findings.extend(validator.check(cf.cert, cf.chain))
        blocking = blocking or any(f.blocking for f in findings)
        described.append(_describe_file(cf, findings))
    if args.json:
        json.dump(described, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for item in described:
            print(f"== {item['fichier']}")
            for key, label in _LABELS.items():
                if key in item and item[key] not in ([], ""):
                    value = item[key]
                    text = ", ".join(value) if isinstance(value, list) else value
                    print(f"  {label:16}: {text}")
            if not item["constats"]:
                print("  Constats        : aucun — certificat utilisable")
            for f in item["constats"]:
                print(f"  [{f['gravite']}] {f['code']} : {f['message']}")
                print(f"      → {f['action']}")
    return int(ExitCode.FINDINGS if blocking else ExitCode.OK)


def status_fr(status: AgentStatus) -> str:
    """French label of an agent status."""
    return AGENT_STATUS_FR[status]
