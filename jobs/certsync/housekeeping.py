"""Old report folders and logs are deleted after `keep_days`: nightly runs never fill the disk."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

log = logging.getLogger("certsync.housekeeping")

#: Report folders certsync names itself (a run's, a renewal campaign's).
_REPORT_FOLDER = re.compile(r"^(expiration-|rappels-)?\d{4}-\d{2}-\d{2}-\d{6}$")
#: Files certsync writes into them; anything else keeps its folder.
_REPORT_FILES = re.compile(
    r"^(exceptions\.(xlsx|csv)|agents\.csv|report\.json|expiring\.(xlsx|csv|json)|.*\.eml)$"
)
_ROTATED = re.compile(r"^\.(\d{4}-\d{2}-\d{2})(-\d+)?$")


def _older(path: Path, limit: dt.datetime) -> bool:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < limit


def prune_reports(root: Path, *, keep_days: int, now: dt.datetime) -> list[Path]:
    """Delete report folders under `root` older than `keep_days`; returns those deleted."""
    if keep_days <= 0 or not root.is_dir():
        return []
    limit = now - dt.timedelta(days=keep_days)
    removed = []
    for folder in sorted(root.iterdir()):
        try:
            if folder.is_symlink() or not folder.is_dir() or not _REPORT_FOLDER.match(folder.name):
                continue
            if not _older(folder, limit):
                continue
            for item in folder.iterdir():
                if item.is_file() and not item.is_symlink() and _REPORT_FILES.match(item.name):
                    item.unlink()
            folder.rmdir()
            removed.append(folder)
        except OSError as exc:
            log.warning("could not prune report folder %s: %s", folder, exc)
    return removed


def rotate_log(log_file: Path, *, keep_days: int, now: dt.datetime) -> list[Path]:
    """Start a new log each day (the old one becomes `<log>.<date>`); delete old rotated logs.

    Done before logging opens the file. Returns the rotated logs deleted.
    """
    try:
        if log_file.is_file() and not log_file.is_symlink():
            day = dt.datetime.fromtimestamp(log_file.stat().st_mtime, dt.UTC).date()
            if day < now.date():
                target = log_file.with_name(f"{log_file.name}.{day.isoformat()}")
                n = 1
                while target.exists():
                    n += 1
                    target = log_file.with_name(f"{log_file.name}.{day.isoformat()}-{n}")
                log_file.rename(target)
    except OSError:
        return []  # the preflight reports an unusable log folder
    if keep_days <= 0 or not log_file.parent.is_dir():
        return []
    limit = (now - dt.timedelta(days=keep_days)).date()
    removed = []
    for path in sorted(log_file.parent.glob(log_file.name + ".*")):
        match = _ROTATED.match(path.name[len(log_file.name) :])
        if match and dt.date.fromisoformat(match.group(1)) < limit and path.is_file():
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                continue
    return removed
