"""The configuration: the shipped example loads and documents every key."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from certsync.config import (
    Config,
    Limits,
    PlatformConfig,
    Policy,
    ReportConfig,
    SmtpConfig,
    load_config,
)
from certsync.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "certsync.example.toml"
SECTIONS = {
    "": Config,
    "policy": Policy,
    "limits": Limits,
    "platform": PlatformConfig,
    "smtp": SmtpConfig,
    "report": ReportConfig,
}


def test_example_configuration_loads():
    config = load_config(EXAMPLE)
    assert config.platform.name == "socle"
    assert config.state.name == "certsync.sqlite"


@pytest.mark.parametrize("section", list(SECTIONS))
def test_example_configuration_documents_every_key(section):
    text = EXAMPLE.read_text(encoding="utf-8")
    nested = {"policy", "limits", "platform", "smtp", "report"}
    for f in fields(SECTIONS[section]):
        if f.name in nested:
            continue
        assert re.search(rf"^#? ?{f.name} = ", text, re.MULTILINE), f"{section}.{f.name}"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[platform]\nname = 'ftp'\n", "plateforme inconnue"),
        ("[platform]\nworkers = 0\n", "workers"),
        ("[policy]\nallowed_policies = 'x'\n", "allowed_policies"),
        ("[policy]\norg_mismatch_blocking = 1\n", "true ou false"),
        ("policy = 3\n", "section [policy]"),
        ("trust = \n", "TOML"),
    ],
)
def test_bad_values_are_refused_in_french(tmp_path, text, needle):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert needle in str(error.value)


def test_relative_paths_are_read_from_the_file_s_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "c.toml"
    path.write_text("trust = 'ac.pem'\n[policy]\ncrl_files = ['a.crl']\n", encoding="utf-8")
    config = load_config(path)
    assert config.trust == tmp_path / "conf" / "ac.pem"
    assert config.policy.crl_files == (tmp_path / "conf" / "a.crl",)
