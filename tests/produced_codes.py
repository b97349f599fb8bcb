"""A pytest plugin: every finding code the suite produces is recorded; a code never produced fails.

Findings are recorded where they are made or received: in this process, in each xdist worker
(sent back through `workeroutput`) and in the `certsync` subprocesses tests start (through
`tests/record/sitecustomize.py`, which writes one file per process). At the end of a full run
(no -k, -m or subset of paths), a catalogue code that no test produced fails the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from certsync.findings import Code
from tests.record.sitecustomize import ENV, install

_RECORD_DIR = Path(__file__).resolve().parent / "record"
_MISSING = pytest.StashKey[list[str]]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _full_run(config: pytest.Config) -> bool:
    """True when the whole suite was asked for: only then can every code be expected."""
    if config.option.markexpr or config.option.keyword or config.option.collectonly:
        return False
    if getattr(config.option, "lf", False) or getattr(config.option, "deselect", None):
        return False
    tests = Path(str(config.rootpath)) / "tests"
    return all(Path(arg).resolve() == tests for arg in config.args)


def pytest_configure(config: pytest.Config) -> None:
    install()
    if not _is_worker(config) and ENV not in os.environ:
        # Subprocesses (and xdist workers) inherit both: they record into this folder.
        os.environ[ENV] = tempfile.mkdtemp(prefix="certsync-codes-")
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_RECORD_DIR), os.environ.get("PYTHONPATH")) if p
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_worker(config):
        config.workeroutput["finding_codes"] = sorted(install())  # type: ignore[attr-defined]
        return
    produced = install()
    folder = os.environ.get(ENV)
    if folder:
        for path in Path(folder).glob("codes-*.txt"):
            produced.update(path.read_text(encoding="utf-8").split())
        shutil.rmtree(folder, ignore_errors=True)
    if exitstatus == 0 and _full_run(config):
        missing = sorted({c.value for c in Code} - produced)
        config.stash[_MISSING] = missing
        if missing:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """An xdist worker is done: add the codes it produced."""
    install().update(getattr(node, "workeroutput", {}).get("finding_codes", ()))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    missing = config.stash.get(_MISSING, None)
    if missing == []:
        terminalreporter.line(f"finding codes: all {len(Code)} produced by the suite")
    if missing:
        terminalreporter.section("finding codes no test produced", red=True)
        terminalreporter.line("A code no test produces is a code nobody knows works:")
        for code in missing:
            terminalreporter.line(f"  {code}")
