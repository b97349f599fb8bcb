"""A report or status file that cannot be written stops the run at once with 73, in French."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from certsync import cli
from certsync.errors import ExitCode
from certsync.testkit.rosters import write_csv
from tests.helpers import leaf_for, write_pem
from tests.unprivileged import as_nobody, world_dir

ROW = {"Nom": "DUBOIS", "Prénom": "Thomas", "Courriel": "t@x.fr"}


def _inputs(base: Path, pki) -> list[str]:
    write_pem(base / "certs", "t.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    roster = write_csv(base / "agents.csv", [ROW])
    args = ["run", "--dry-run", "--roster", roster, "--certs", base / "certs"]
    return [*map(str, args), "--state", str(base / "s.sqlite")]


@pytest.mark.parametrize("where", ["report-dir-is-a-file", "status-file-under-a-file"])
def test_unwritable_outputs_exit_73_before_anything(tmp_path: Path, pki, where: str) -> None:
    args = _inputs(tmp_path, pki)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    if where == "report-dir-is-a-file":
        args += ["--report-dir", str(blocker)]
    else:
        config = tmp_path / "c.toml"
        config.write_text(f"status_file = '{blocker / 'status.json'}'\n")
        args += ["--config", str(config), "--report-dir", str(tmp_path / "r")]
    proc = subprocess.run(
        [sys.executable, "-m", "certsync", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == ExitCode.STATE, proc.stderr
    assert "n'est pas un dossier" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s.sqlite").exists()  # stopped before the run began


def _main(args: list[str]) -> int:
    return cli.main(args)


def test_report_folder_without_write_permission_exits_73(tmp_path: Path, pki) -> None:
    base = world_dir(tmp_path)
    locked = base / "reports"
    locked.mkdir()
    locked.chmod(0o555)
    config = base / "c.toml"
    config.write_text(
        f"log_file = '{base / 'log' / 'c.log'}'\nstatus_file = '{base / 'st.json'}'\n"
    )
    args = [*_inputs(base, pki), "--report-dir", str(locked / "today"), "--config", str(config)]
    code, err = as_nobody(_main, args)
    assert code == ExitCode.STATE, err
    assert "ne peut pas écrire" in err
