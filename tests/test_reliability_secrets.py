"""Secrets read from files are masked in every log, and a file anyone can read is warned about."""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from certsync.config import PlatformConfig
from certsync.connectors.credentials import exposed_secret_files, load_credentials
from certsync.logs import configure_logging
from certsync.testkit.rosters import write_csv
from tests.helpers import leaf_for, write_pem


def _secret_file(tmp_path: Path, name: str, mode: int) -> tuple[Path, str]:
    value = f"pw-{secrets.token_hex(8)}"  # unique: the mask list is process-wide
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(mode)
    return path, value


def test_world_readable_password_file_is_warned_about_in_french(tmp_path: Path, caplog) -> None:
    password, _ = _secret_file(tmp_path, "password", 0o644)
    token, _ = _secret_file(tmp_path, "token", 0o600)
    config = PlatformConfig(password_file=password, token_file=token)
    with caplog.at_level(logging.WARNING, logger="certsync"):
        load_credentials(config, env={})
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert "mot de passe" in warned[0] and "lisible par tous" in warned[0]
    assert "chmod 600" in warned[0] and str(password) in warned[0]
    password.chmod(0o600)
    assert exposed_secret_files(config) == []


@pytest.mark.parametrize("source", ["file", "environment"])
def test_secrets_are_masked_in_the_log_file(tmp_path: Path, source: str, capsys) -> None:
    path, value = _secret_file(tmp_path, "token", 0o600)
    if source == "file":
        load_credentials(PlatformConfig(token_file=path), env={})
    else:
        load_credentials(PlatformConfig(), env={"CERTSYNC_TOKEN": value})
    log_file = tmp_path / "certsync.log"
    configure_logging(log_file=log_file)
    try:
        raise RuntimeError(f"login refused for token {value}")
    except RuntimeError:
        logging.getLogger("certsync.test").exception("request failed with %s", value)
    for handler in logging.getLogger("certsync").handlers:
        handler.flush()
    written = log_file.read_text(encoding="utf-8") + capsys.readouterr().err
    assert "request failed with ***" in written and "login refused for token ***" in written
    assert value not in written


def test_run_warns_about_an_exposed_password_file(tmp_path: Path, pki) -> None:
    password, value = _secret_file(tmp_path, "password", 0o644)
    write_pem(tmp_path / "certs", "t.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    roster = write_csv(tmp_path / "a.csv", [{"Nom": "DUBOIS", "Prénom": "T", "Courriel": "t@x.fr"}])
    config = tmp_path / "c.toml"
    config.write_text(f"[platform]\npassword_file = '{password}'\n")
    args = ["run", "--roster", roster, "--dry-run", "--certs", tmp_path / "certs"]
    proc = subprocess.run(
        [sys.executable, "-m", "certsync", *map(str, args), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert "ATTENTION : Le fichier de mot de passe" in proc.stdout, proc.stderr
    assert value not in proc.stdout + proc.stderr


def test_a_secret_too_short_to_be_one_does_not_garble_the_logs(tmp_path: Path, capsys) -> None:
    load_credentials(PlatformConfig(), env={"CERTSYNC_USER": "x", "CERTSYNC_TOKEN": "y"})
    log_file = tmp_path / "certsync.log"
    configure_logging(log_file=log_file)
    logging.getLogger("certsync.test").warning("pytest certsync %s", "long-enough-secret")
    for handler in logging.getLogger("certsync").handlers:
        handler.flush()
    written = log_file.read_text(encoding="utf-8")
    assert "pytest certsync" in written
