"""What every command shares: configuration with overrides, the clock, run ids, logging."""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
from dataclasses import replace
from pathlib import Path

from certsync.config import Config, load_config
from certsync.logs import configure_logging


def now_utc() -> dt.datetime:
    """The current instant (the only place a command reads the clock)."""
    return dt.datetime.now(dt.UTC)


def new_run_id(moment: dt.datetime) -> str:
    """A sortable, unique run identifier."""
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def crash_log_path(args: argparse.Namespace) -> Path:
    """Where internal errors' tracebacks go."""
    try:
        return load_config(getattr(args, "config", None)).log_file.with_name("certsync-crash.log")
    except Exception:
        return Path("var/certsync-crash.log")


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration file with command-line overrides applied."""
    config = load_config(getattr(args, "config", None))
    for name in ("trust", "decisions", "state"):
        value = getattr(args, name, None)
        if value is not None:
            config = replace(config, **{name: value})
    if getattr(args, "skip_chain_check", False):
        config = replace(config, policy=replace(config.policy, skip_chain_check=True))
    platform = config.platform
    if getattr(args, "platform", None):
        platform = replace(platform, name=args.platform)
    if getattr(args, "url", None):
        platform = replace(platform, url=args.url)
    if getattr(args, "workers", None):
        platform = replace(platform, workers=args.workers)
    return replace(config, platform=platform)


def setup_logging(config: Config, args: argparse.Namespace) -> None:
    """Logging for this command, configured once."""
    configure_logging(log_file=config.log_file, quiet=getattr(args, "quiet", False))
