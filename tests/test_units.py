"""The shipped systemd units: hardened (systemd-analyze says OK), commands the CLI accepts, a
timer for the run and one for the reminders."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from certsync.cli import build_parser

CONFIG = Path(__file__).resolve().parents[1] / "config"
SERVICES = ("certsync.service", "certsync-notify.service")


def _unit(name: str) -> dict[str, list[str]]:
    """Every key of a unit file with all its values (systemd allows repeated keys)."""
    values: dict[str, list[str]] = {}
    for line in (CONFIG / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_hardened_and_its_commands_parse(name):
    unit = _unit(name)
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "SystemCallArchitectures": "native",
        "Environment": "CERTSYNC_DATA_DIR=/var/lib/certsync",
    }.items():
        assert unit[key] == [value], key
    assert "/var/lib/certsync" in unit["ReadWritePaths"][0]
    parser = build_parser()
    for command in unit["ExecStart"]:
        argv = shlex.split(command)
        assert argv[0].endswith("/certsync")
        args = parser.parse_args(argv[1:])  # raises SystemExit if an option does not exist
        assert args.quiet is True


@pytest.mark.parametrize("stem", ["certsync", "certsync-notify"])
def test_each_service_has_its_timer(stem):
    timer, service = f"{stem}.timer", f"{stem}.service"
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.read(CONFIG / timer, encoding="utf-8")
    assert parsed["Timer"]["OnCalendar"] and parsed["Timer"]["Persistent"] == "true"
    assert parsed["Install"]["WantedBy"] == "timers.target"
    assert (CONFIG / service).is_file()  # same name: the timer starts this service


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
@pytest.mark.parametrize("name", SERVICES)
def test_systemd_rates_the_service_ok(name, tmp_path):
    shutil.copy(CONFIG / name, tmp_path / name)
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", name],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    if "--offline" in proc.stderr:
        pytest.skip("this systemd-analyze cannot rate a unit file offline")
    last = proc.stdout.strip().splitlines()[-1]
    assert "OK" in last, proc.stdout[-2000:]


def test_bench_generator_has_a_help_and_refuses_a_bad_size(tmp_path):
    script = CONFIG.parent / "bench" / "generate.py"
    shown = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0 and "nombre d'agents" in shown.stdout
    bad = subprocess.run(
        [sys.executable, str(script), "beaucoup"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert not (CONFIG.parent / "bench" / ".cache" / "nbeaucoup").exists()
