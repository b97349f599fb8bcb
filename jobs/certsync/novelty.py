"""What is new since the last run: the problems already reported are remembered next to the
state, so that a quiet night stays silent when nothing changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from certsync.findings import Finding, Severity
from certsync.fsutil import atomic_write_bytes
from certsync.records import RunResult


def seen_path(state: Path) -> Path:
    """The file that remembers the last run's problems (next to the state file)."""
    return state.with_name(state.name + ".constats.json")


def _key(f: Finding, who: str, sha: str) -> str:
    text = f"{f.code}|{who}|{f.file or ''}|{sha}"
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def problem_keys(result: RunResult) -> set[str]:
    """One stable key per blocking finding or warning (information is never a problem)."""
    keys: set[str] = set()
    for f in result.general:
        if f.severity is not Severity.INFO:
            keys.add(_key(f, "", ""))
    for a in result.agents:
        for f in a.findings:
            if f.severity is not Severity.INFO:
                keys.add(_key(f, a.agent.email_key, a.sha256 or ""))
    for fr in result.files:
        for f in fr.findings:
            if f.severity is not Severity.INFO:
                keys.add(_key(f, "", fr.sha256 or ""))
    return keys


def new_problems(result: RunResult, state: Path) -> int:
    """How many of this run's problems the last run did not report; remember this run's."""
    keys = problem_keys(result)
    path = seen_path(state)
    try:
        seen = set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        seen = set()
    atomic_write_bytes(path, json.dumps(sorted(keys)).encode("utf-8"))
    return len(keys - seen)
