"""The demo's samples: every family of finding shows up; the generator matches the committed set."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from certsync import cli
from certsync.errors import ExitCode
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FAMILIES = ("ROSTER_", "FILE_", "MATCH_", "CERT_", "MEGALIS_")


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run_on(folder: Path, tmp: Path, monkeypatch) -> dict:
    monkeypatch.setenv("CERTSYNC_USER", DEMO_USER)
    monkeypatch.setenv("CERTSYNC_PASSWORD", DEMO_PASSWORD)
    monkeypatch.chdir(tmp)
    with start_sandbox(
        "socle", accounts=folder / "export_agent.csv", credentials=SandboxCredentials()
    ) as sandbox:
        code = cli.main(
            [
                "run", "--roster", str(folder / "agents.xlsx"), "--certs",
                str(folder / "certificats"), "--trust", str(folder / "confiance" / "autorites.pem"),
                "--as-of", "2026-03-02", "--url", sandbox.url, "--state", str(tmp / "s.sqlite"),
                "--report-dir", str(tmp / "rapport"), "--quiet",
            ]
        )  # fmt: skip
        assert code == ExitCode.FINDINGS
        writes = {str(a["email"]): a["writes"] for a in sandbox.accounts()}
    report = json.loads((tmp / "rapport" / "report.json").read_text(encoding="utf-8"))
    report["writes"] = writes
    return report


@pytest.mark.slow
def test_committed_samples_show_every_family_of_finding(tmp_path, monkeypatch):
    report = _run_on(SAMPLES, tmp_path, monkeypatch)
    codes = set(report["totals"]["findings"])
    for family in FAMILIES:
        assert any(c.startswith(family) for c in codes), family
    assert report["totals"]["agents"]["pushed"] >= 10
    assert set(report["writes"].values()) <= {0, 1}


@pytest.mark.slow
def test_generator_reproduces_the_committed_outcome(tmp_path, monkeypatch):
    fresh = tmp_path / "samples"
    fresh.mkdir()
    make = _make_samples()
    listing = make.generate(fresh)
    make.write_readme(fresh, listing)
    committed_listing = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert (fresh / "README.md").read_text(encoding="utf-8") == committed_listing
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _run_on(SAMPLES, tmp_path / "a", monkeypatch)
    b = _run_on(fresh, tmp_path / "b", monkeypatch)
    summary = [(x["row"], x["status"], x["file"], sorted(x["codes"])) for x in a["agents"]]
    assert summary == [(x["row"], x["status"], x["file"], sorted(x["codes"])) for x in b["agents"]]
    shutil.rmtree(fresh)
