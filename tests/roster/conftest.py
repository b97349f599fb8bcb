"""Helpers to write a roster file and read it back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from certsync.findings import Finding
from certsync.records import Roster
from certsync.roster import read_roster

WriteCsv = Callable[..., Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write text (or bytes) as a roster file; returns its path."""

    def write(content: str | bytes, name: str = "agents.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        data = content.encode(encoding) if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def read_csv(write_csv: WriteCsv) -> Callable[..., Roster]:
    """Write text as a CSV roster and read it."""

    def read(content: str | bytes, encoding: str = "utf-8", **kwargs: Any) -> Roster:
        return read_roster(write_csv(content, encoding=encoding), **kwargs)

    return read


def flat(findings: tuple[Finding, ...]) -> list[tuple[int | None, str]]:
    """Findings as compact (row, code) pairs for assertions."""
    return [(f.row, f.code.value) for f in findings]
