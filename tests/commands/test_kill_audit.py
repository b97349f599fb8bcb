"""`kill -9` and SIGTERM of a real `certsync run` mid-push, reruns, rollbacks: nothing is lost.

Real processes, the real sandbox on loopback, a real state file. Each kill lands right after a
write reached the platform, while the run reads it back and before its audit line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certsync.connectors.pem import sha256_hex, to_pem
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.server import SandboxCredentials
from certsync.state import StateStore
from certsync.testkit.rosters import write_csv
from tests.connectors.kit import ENV
from tests.helpers import leaf_for, write_pem

pytestmark = pytest.mark.slow

NAMES = [
    ("Anne", "MOREAU"),
    ("Yann", "KERGOAT"),
    ("Maëlle", "TANGUY"),
    ("Loïc", "RIOU"),
    ("Soizic", "LE GALL"),
    ("Erwan", "MORVAN"),
    ("Nolwenn", "GUÉGAN"),
    ("Gwenaël", "CAËR"),
]


def _mail(i: int) -> str:
    return f"agent{i}@ville.fr"


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certsync", *args],
        cwd=tmp,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _writes(sandbox: SandboxHandle) -> int:
    return sum(int(a["writes"]) for a in sandbox.accounts())  # type: ignore[call-overload]


def _shas(sandbox: SandboxHandle) -> dict[str, str]:
    return {str(a["email"]): str(a["sha256"]) for a in sandbox.accounts()}


def test_kills_mid_push_then_reruns_then_rollbacks_restore_everything(tmp_path, pki):
    old = {_mail(i): leaf_for(pki.chambersign_ca, p, n, slot=i % 4, days=400)
           for i, (p, n) in enumerate(NAMES)}  # fmt: skip
    accounts = [{"email": _mail(i), "nom": n, "prenom": p} for i, (p, n) in enumerate(NAMES)]
    sandbox = start_sandbox(
        "socle", accounts=accounts, credentials=SandboxCredentials(), latency_ms=120
    )
    try:
        with sandbox.store.mutate():
            for account in sandbox.store.accounts.values():
                account.certificate = to_pem(old[account.email].der)
        before = _shas(sandbox)
        certs = tmp_path / "depot"
        for i, (p, n) in enumerate(NAMES):
            write_pem(certs, f"{p} {n}.cer", leaf_for(pki.chambersign_ca, p, n, slot=i % 4))
        rows = [{"Nom": n, "Prénom": p, "Courriel": _mail(i)} for i, (p, n) in enumerate(NAMES)]
        roster = write_csv(tmp_path / "agents.csv", rows)
        (tmp_path / "trust.pem").write_bytes(pki.trust_pem())
        (tmp_path / "c.toml").write_text("[platform]\nworkers = 2\n", encoding="utf-8")
        state = tmp_path / "state.sqlite"
        args = ["run", "--roster", str(roster), "--certs", str(certs), "--trust",
                str(tmp_path / "trust.pem"), "--url", sandbox.url, "--as-of", "2026-03-01",
                "--state", str(state), "--config", str(tmp_path / "c.toml"), "--quiet"]  # fmt: skip

        killed_in_window = 0
        for sig in (signal.SIGKILL, signal.SIGTERM):
            start = _writes(sandbox)
            proc = subprocess.Popen(
                [sys.executable, "-m", "certsync", *args, "--report-dir", f"r{start}"],
                cwd=tmp_path,
                env={**os.environ, **ENV},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while _writes(sandbox) < start + 2 and time.monotonic() < deadline:
                time.sleep(0.003)
            proc.send_signal(sig)  # right after a write landed: its audit line is not written yet
            proc.wait(timeout=10)
            with StateStore.open(state) as store:
                pending = store.in_flight("socle")
            assert all(p.old_known for p in pending)
            landed = [p for p in pending if _shas(sandbox)[p.email] == p.new_sha256]
            killed_in_window += len(landed)
            assert all(p.old_sha256 == before[p.email] for p in landed)
        assert killed_in_window >= 1, "no kill fell between a write and its audit line"

        final = _cli(tmp_path, *args, "--report-dir", "final")
        assert final.returncode == 0, final.stderr
        after_push = _shas(sandbox)
        assert all(after_push[m] != before[m] for m in before)
        per_account = {str(a["email"]): int(a["writes"]) for a in sandbox.accounts()}  # type: ignore[call-overload]
        assert set(per_account.values()) == {1}, per_account  # one write per certificate

        history = json.loads(_cli(tmp_path, "history", "--state", str(state), "--json").stdout)
        runs = [r["run_id"] for r in history if r["command"] == "run"]
        with StateStore.open(state) as store:
            assert store.in_flight() == []
            audit = [e for r in runs for e in store.audit_for_run(r)]
        # Every write is audited once, with the certificate it replaced.
        assert sorted(e.email for e in audit) == sorted(before)
        assert all(e.old_sha256 == before[e.email] for e in audit)
        assert all(e.new_sha256 == after_push[e.email] for e in audit)

        for run_id in runs:
            done = _cli(tmp_path, "rollback", run_id, "--url", sandbox.url, "--state", str(state))
            assert done.returncode == 0, done.stdout + done.stderr
        assert _shas(sandbox) == before
        assert sha256_hex(old[_mail(0)].der) == before[_mail(0)]
    finally:
        sandbox.stop()
