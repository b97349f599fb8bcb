"""Inputs that are not plain files are refused at once, never read (a FIFO would hang)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from certsync.config import PlatformConfig, load_config
from certsync.connectors.credentials import load_credentials
from certsync.errors import ConfigError, ExitCode
from certsync.testkit.rosters import write_csv
from tests.helpers import leaf_for, write_pem

ROW = {"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": "t@x.fr", "SIREN": "213502388"}


@pytest.fixture
def inputs(tmp_path: Path, pki) -> tuple[Path, Path, Path]:
    certs = tmp_path / "certs"
    write_pem(certs, "thomas.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    roster = write_csv(tmp_path / "agents.csv", [ROW])
    trust = tmp_path / "trust.pem"
    trust.write_bytes(pki.trust_pem())
    return roster, certs, trust


def _run(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "certsync", "run", "--dry-run", *map(str, args)]
    command += ["--state", str(tmp_path / "s.sqlite"), "--report-dir", str(tmp_path / "r")]
    # A hang is the defect: the timeout turns it into a failure instead of a stuck suite.
    return subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def test_fifo_as_roster_is_refused_in_french(tmp_path: Path, inputs) -> None:
    _roster, certs, trust = inputs
    fifo = _fifo(tmp_path, "liste.csv")
    proc = _run(tmp_path, "--roster", fifo, "--certs", certs, "--trust", trust)
    assert proc.returncode == ExitCode.INPUT, proc.stderr
    assert "tube nommé (FIFO)" in proc.stderr and "Traceback" not in proc.stderr


def test_device_as_roster_is_refused(tmp_path: Path, inputs) -> None:
    _roster, certs, trust = inputs
    proc = _run(tmp_path, "--roster", "/dev/zero", "--certs", certs, "--trust", trust)
    assert proc.returncode == ExitCode.INPUT, proc.stderr
    assert "pas un fichier ordinaire" in proc.stderr


def test_fifo_as_decisions_file_is_refused(tmp_path: Path, inputs) -> None:
    roster, certs, trust = inputs
    fifo = _fifo(tmp_path, "decisions.csv")
    args = ("--roster", roster, "--certs", certs, "--trust", trust, "--decisions", fifo)
    proc = _run(tmp_path, *args)
    assert proc.returncode == ExitCode.INPUT, proc.stderr
    assert "décisions" in proc.stderr and "tube nommé" in proc.stderr


def test_fifo_as_trust_file_is_refused(tmp_path: Path, inputs) -> None:
    roster, certs, _trust = inputs
    fifo = _fifo(tmp_path, "autorites.pem")
    proc = _run(tmp_path, "--roster", roster, "--certs", certs, "--trust", fifo)
    assert proc.returncode == ExitCode.CONFIG, proc.stderr
    assert "confiance" in proc.stderr and "tube nommé" in proc.stderr


def test_fifo_as_config_or_password_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tube nommé"):
        load_config(_fifo(tmp_path, "certsync.toml"))
    platform = PlatformConfig(password_file=_fifo(tmp_path, "password"))
    with pytest.raises(ConfigError, match="tube nommé"):
        load_credentials(platform, env={})


@pytest.mark.parametrize("which", ["roster", "certs"])
def test_latin1_path_given_on_the_command_line_is_refused(tmp_path: Path, inputs, which) -> None:
    roster, certs, _trust = inputs
    raw = os.fsencode(tmp_path) + b"/d\xe9p\xf4t"
    os.mkdir(raw)  # noqa: PTH102 - a Latin-1 name, in bytes
    odd = Path(os.fsdecode(raw))
    if which == "roster":
        roster = odd / "agents.csv"
        roster.write_bytes(Path(tmp_path / "agents.csv").read_bytes())
    else:
        certs = odd
        (odd / "t.cer").write_bytes((tmp_path / "certs" / "thomas.cer").read_bytes())
    proc = _run(tmp_path, "--roster", roster, "--certs", certs)
    assert proc.returncode == ExitCode.INPUT, proc.stderr
    assert "pas en UTF-8" in proc.stderr and "d\\xe9p\\xf4t" in proc.stderr
