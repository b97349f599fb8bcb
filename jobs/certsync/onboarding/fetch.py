"""The socle's own exports, downloaded for `certsync onboarding --url` and kept as files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from certsync.fsutil import atomic_path


class Exporter(Protocol):
    """What onboarding needs from the socle connector."""

    def use_sirens(self, sirens: list[str]) -> None:
        """The roster's SIRENs: a functional administrator's organisations are found by them."""
        ...

    def export_files(self) -> tuple[dict[str, bytes], tuple[str, ...]]:
        """Each organism's export_agent.csv as sent, and why some could not be exported."""
        ...


@dataclass(frozen=True, slots=True)
class FetchedExports:
    """The exports written to disk, and the organisations that could not be exported."""

    paths: tuple[Path, ...]
    """One `export_agent-<organism id>.csv` per organism, byte for byte as the socle sent it."""
    gaps: tuple[str, ...]
    """French reasons; an organism missing here gets no file, its agents a finding."""


def fetch_exports(exporter: Exporter, sirens: list[str], folder: Path) -> FetchedExports:
    """Download every managed organism's export into `folder`, as the administrator would.

    The files are kept beside the import files so that what the import files were built from
    can be checked afterwards (and given again with --export).
    """
    exporter.use_sirens(sirens)
    exports, gaps = exporter.export_files()
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for organism_id, content in sorted(exports.items()):
        path = folder / f"export_agent-{organism_id}.csv"
        with atomic_path(path) as tmp:
            tmp.write_bytes(content)
        paths.append(path)
    return FetchedExports(tuple(paths), gaps)
