"""Odd entries in the certificate folder are reported one by one; the run goes on."""

from __future__ import annotations

import contextlib
import csv
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from certsync.certfiles.scan import list_files
from certsync.errors import ExitCode
from certsync.testkit.rosters import write_csv
from tests.helpers import leaf_for, write_pem
from tests.unprivileged import as_nobody, world_dir

ROW = {"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": "t@x.fr", "SIREN": "213502388"}


def _run(
    tmp_path: Path, certs: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    roster = write_csv(tmp_path / "agents.csv", [ROW])
    trust = tmp_path / "trust.pem"
    out = tmp_path / "r"
    proc = subprocess.run(
        [sys.executable, "-m", "certsync", "run", "--roster", str(roster), "--certs", str(certs)]
        + ["--dry-run", "--report-dir", str(out), "--state", str(tmp_path / "s.sqlite")]
        + (["--trust", str(trust)] if trust.exists() else []),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    if not (out / "report.json").exists():
        return proc, {}
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    files = {f["file"]: dict(f, messages="") for f in report["files"]}
    with (out / "exceptions.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if row["Fichier"] in files:
                files[row["Fichier"]]["messages"] += row["Message"]
    return proc, files


def test_odd_names_and_link_loops_are_reported_and_the_run_goes_on(tmp_path: Path, pki) -> None:
    certs = tmp_path / "certs"
    write_pem(certs, "thomas.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    (tmp_path / "trust.pem").write_bytes(pki.trust_pem())
    raw = os.fsencode(certs)
    with open(raw + b"/r\xe9sum\xe9.cer", "wb") as handle:  # a Latin-1 name
        handle.write(b"x")
    os.mkdir(raw + b"/archiv\xe9")  # noqa: PTH102 - a Latin-1 folder name, in bytes
    with open(raw + b"/archiv\xe9/old.cer", "wb") as handle:
        handle.write(b"x")
    (certs / "self.cer").symlink_to("self.cer")
    (certs / "ping.cer").symlink_to("pong.cer")
    (certs / "pong.cer").symlink_to("ping.cer")
    proc, files = _run(tmp_path, certs)
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr
    assert "Traceback" not in proc.stderr
    assert files["thomas.cer"]["sha256"]  # the good file is read and handled
    refused = {path: f for path, f in files.items() if "FILE_ENTRY_REFUSED" in f.get("codes", [])}
    assert set(refused) == {
        "r\\xe9sum\\xe9.cer",
        "archiv\\xe9",
        "self.cer",
        "ping.cer",
        "pong.cer",
    }, files.keys()
    assert "nom illisible" in refused["r\\xe9sum\\xe9.cer"]["messages"]
    assert "nom illisible" in refused["archiv\\xe9"]["messages"]
    assert "boucle" in refused["self.cer"]["messages"]
    assert "boucle" in refused["ping.cer"]["messages"]
    assert "FILE_ENTRY_REFUSED" not in files["thomas.cer"].get("codes", [])


def _deep_folder(root: Path, depth: int = 20) -> str:
    """Nested folders whose full path is longer than PATH_MAX (made relative to each other)."""
    name = "d" * 250
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        cert = os.open("deep.cer", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(cert, b"x")
        os.close(cert)
    finally:
        os.close(fd)
    return name


def test_paths_too_long_are_reported(tmp_path: Path, pki) -> None:
    certs = tmp_path / "certs"
    write_pem(certs, "thomas.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    _deep_folder(certs)
    proc, files = _run(tmp_path, certs)
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr
    long_ones = [p for p, f in files.items() if "chemin trop long" in f["messages"]]
    assert len(long_ones) == 1 and long_ones[0].startswith("d" * 250 + "/")
    assert "FILE_ENTRY_REFUSED" in files[long_ones[0]]["codes"]


def _list(root: Path) -> list[tuple[str, str]]:
    return [(e.rel, e.problem) for e in list_files(root)]


def test_unreadable_subfolder_is_listed_with_its_reason(tmp_path: Path) -> None:
    base = world_dir(tmp_path)
    certs = base / "certs"
    (certs / "private").mkdir(parents=True)
    (certs / "private" / "a.cer").write_bytes(b"x")
    (certs / "b.cer").write_bytes(b"x")
    (certs / "private").chmod(0o700)  # root's: unreadable by the unprivileged user
    listed, _err = as_nobody(_list, certs)
    assert isinstance(listed, list), listed
    assert ("b.cer", "") in listed
    assert ("private", "dossier illisible (accès refusé) ; son contenu n'a pas été lu") in listed


def test_unreadable_certificate_folder_is_an_input_error(tmp_path: Path) -> None:
    base = world_dir(tmp_path)
    certs = base / "certs"
    certs.mkdir()
    certs.chmod(0o700)
    result, _err = as_nobody(_list, certs)
    assert "InputError" in str(result) and "accès refusé" in str(result)


@pytest.mark.parametrize("loop", ["self", "pair"])
def test_link_loops_are_listed_not_raised(tmp_path: Path, loop: str) -> None:
    if loop == "self":
        (tmp_path / "a.cer").symlink_to("a.cer")
    else:
        (tmp_path / "a.cer").symlink_to("b.cer")
        (tmp_path / "b.cer").symlink_to("a.cer")
    problems = dict(_list(tmp_path))
    assert "boucle" in problems["a.cer"]


def test_a_very_deep_folder_is_listed_not_mistaken_for_a_loop(tmp_path: Path) -> None:
    # Deeper than the recursion limit, made low for the listing: a tree deeper than the normal
    # limit would break pytest's own (recursive) removal of old temporary folders.
    depth = 400
    fds = [os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)]
    limit = sys.getrecursionlimit()
    try:
        for _ in range(depth):
            os.mkdir("a", dir_fd=fds[-1])
            fds.append(os.open("a", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        os.close(os.open("deep.cer", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1]))
        sys.setrecursionlimit(len(inspect.stack()) + 150)
        try:
            listed = _list(tmp_path)
        finally:
            sys.setrecursionlimit(limit)
        assert listed == [("a/" * depth + "deep.cer", "")]
    finally:
        # Removed here from the bottom up: a recursive removal would exceed the recursion limit.
        with contextlib.suppress(FileNotFoundError):
            os.unlink("deep.cer", dir_fd=fds[-1])
        for parent in reversed(fds[:-1]):
            with contextlib.suppress(FileNotFoundError, OSError):
                os.rmdir("a", dir_fd=parent)
        for fd in fds:
            os.close(fd)
