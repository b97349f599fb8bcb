"""The push options and `certsync check` through the real CLI, the sandbox and real files."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certsync import cli
from certsync.connectors.interface import Account, OrganisationSummary, Survey, Unavailable
from certsync.errors import ExitCode
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.server import SandboxCredentials
from certsync.state import StateStore
from certsync.testkit.rosters import write_csv
from tests.connectors.kit import ENV
from tests.fakes import FakeConnector
from tests.helpers import leaf_for, write_pem

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


class Setup:
    """A roster, certificates and trust store in a folder, and a socle sandbox."""

    def __init__(self, tmp: Path, pki: object, sandbox: SandboxHandle) -> None:
        self.tmp, self.sandbox = tmp, sandbox
        self.certs = tmp / "depot"
        for i, (p, n) in enumerate(NAMES):
            write_pem(self.certs, f"{p} {n}.cer", leaf_for(pki.chambersign_ca, p, n, slot=i % 4))  # type: ignore[attr-defined]
        rows = [{"Nom": n, "Prénom": p, "Courriel": _mail(i)} for i, (p, n) in enumerate(NAMES)]
        self.roster = write_csv(tmp / "agents.csv", rows)
        (tmp / "trust.pem").write_bytes(pki.trust_pem())  # type: ignore[attr-defined]

    def args(self, *extra: str, state: Path | None = None) -> list[str]:
        return ["run", "--roster", str(self.roster), "--certs", str(self.certs),
                "--trust", str(self.tmp / "trust.pem"), "--url", self.sandbox.url,
                "--as-of", "2026-03-01", "--state", str(state or self.tmp / "state.sqlite"),
                *extra]  # fmt: skip

    def writes(self) -> dict[str, int]:
        return {str(a["email"]): int(a["writes"]) for a in self.sandbox.accounts()}  # type: ignore[call-overload]


@pytest.fixture
def setup(tmp_path: Path, pki: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    accounts = [{"email": _mail(i), "nom": n, "prenom": p} for i, (p, n) in enumerate(NAMES)]
    sandbox = start_sandbox("socle", accounts=accounts, credentials=SandboxCredentials())
    try:
        yield Setup(tmp_path, pki, sandbox)
    finally:
        sandbox.stop()


def _report(tmp: Path, name: str) -> dict[str, dict[str, object]]:
    import json

    data = json.loads((tmp / name / "report.json").read_text(encoding="utf-8"))
    return {a["email"]: a for a in data["agents"]}


@pytest.mark.slow
def test_only_and_limit_write_only_the_chosen_agents(setup: Setup) -> None:
    chosen = f"{_mail(1).upper()}, {_mail(4)},{_mail(6)}"
    code = cli.main(setup.args("--only", chosen, "--limit", "2", "--report-dir", "r1"))
    assert code == ExitCode.OK
    assert setup.writes() == {_mail(i): int(i in (1, 4)) for i in range(len(NAMES))}
    agents = _report(setup.tmp, "r1")
    assert agents[_mail(1)]["status"] == "pushed" and agents[_mail(4)]["status"] == "pushed"
    for i in (0, 2, 3, 5, 6, 7):
        assert agents[_mail(i)]["status"] == "would_push"
        assert agents[_mail(i)]["codes"] == ["MEGALIS_NOT_SELECTED"]
    # The next full run pushes the rest, never the same certificate twice.
    assert cli.main(setup.args("--report-dir", "r2")) == ExitCode.OK
    assert set(setup.writes().values()) == {1}


def test_only_with_an_unknown_email_writes_nothing(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(setup.args("--only", "personne@ville.fr", "--report-dir", "r1"))
    assert code == ExitCode.USAGE
    assert "personne@ville.fr" in capsys.readouterr().err
    assert set(setup.writes().values()) == {0}


@pytest.mark.parametrize("bad", [["--limit", "0"], ["--only", "pas-un-email"]])
def test_bad_selection_is_a_usage_error(setup: Setup, bad: list[str]) -> None:
    assert cli.main(setup.args(*bad)) == ExitCode.USAGE


def test_check_names_identity_and_counts_without_writing(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["check", "--platform", "socle", "--url", setup.sandbox.url])
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert "connexion réussie, rien n'a été modifié" in out
    assert f"{len(NAMES)} compte(s)" in out and "Modification d'un agent : possible" in out
    assert set(setup.writes().values()) == {0}


def test_check_wrong_password_is_77(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTSYNC_PASSWORD", "faux")
    monkeypatch.setenv("CERTSYNC_TOKEN", "faux")
    assert cli.main(["check", "--url", setup.sandbox.url]) == ExitCode.PLATFORM_AUTH


def _empty_config(tmp_path: Path) -> Path:
    """A configuration file with no keys (the defaults); the config must be a regular file."""
    path = tmp_path / "vide.toml"
    path.write_text("", encoding="utf-8")
    return path


@pytest.mark.slow
def test_check_unreachable_is_69(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = cli.main(
        ["check", "--url", f"http://127.0.0.1:{port}", "--config", str(_empty_config(tmp_path))]
    )
    assert code == ExitCode.PLATFORM_UNAVAILABLE


class _NoRights(FakeConnector):
    def survey(self) -> Survey:
        orgs = (OrganisationSummary("42", "Commune de Plouha", 17),)
        return Survey("chef@plouha.fr (administrateur)", orgs, False, ("droit « agents » absent",))


def test_check_without_edit_right_is_77_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import certsync.connectors as connectors

    monkeypatch.setattr(connectors, "make_connector", lambda config, url: _NoRights())
    code = cli.main(
        ["check", "--url", "http://127.0.0.1:9", "--config", str(_empty_config(tmp_path))]
    )
    captured = capsys.readouterr()
    assert code == ExitCode.PLATFORM_AUTH
    assert "chef@plouha.fr (administrateur)" in captured.out
    assert "Commune de Plouha (42) : 17 compte(s)" in captured.out
    assert "IMPOSSIBLE" in captured.out and "droit « agents » absent" in captured.out
    assert "n'a pas le droit de modifier un agent" in captured.err


class _DownAfterLogin(FakeConnector):
    def list_accounts(self) -> dict[str, Account]:
        raise Unavailable("délai dépassé")


def test_check_platform_down_after_login_is_69(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import certsync.connectors as connectors

    monkeypatch.setattr(connectors, "make_connector", lambda config, url: _DownAfterLogin())
    code = cli.main(
        ["check", "--url", "http://127.0.0.1:9", "--config", str(_empty_config(tmp_path))]
    )
    assert code == ExitCode.PLATFORM_UNAVAILABLE
    assert "délai dépassé" in capsys.readouterr().err


@contextlib.contextmanager
def _small_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("a small file system needs mount rights (root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


@pytest.mark.slow
def test_disk_full_during_a_push_stops_with_73_and_loses_no_write(
    setup: Setup, tmp_path: Path
) -> None:
    slow = start_sandbox(
        "socle",
        accounts=[{"email": _mail(i), "nom": n, "prenom": p} for i, (p, n) in enumerate(NAMES)],
        credentials=SandboxCredentials(),
        latency_ms=60,
    )
    setup.sandbox.stop()
    setup.sandbox = slow
    (tmp_path / "c.toml").write_text("[platform]\nworkers = 1\n", encoding="utf-8")
    try:
        with _small_disk(tmp_path / "disk", "3m") as disk:
            state = disk / "state.sqlite"
            args = setup.args("--config", str(tmp_path / "c.toml"), "--report-dir", "r1",
                              state=state)  # fmt: skip
            proc = subprocess.Popen(
                [sys.executable, "-m", "certsync", *args],
                cwd=tmp_path,
                env={**os.environ, **ENV},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 60
            while sum(setup.writes().values()) < 1 and time.monotonic() < deadline:
                time.sleep(0.005)
            filler = _fill(disk)
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == ExitCode.STATE, out + err
            assert "plein" in err and "Traceback" not in err
            written = {m for m, n in setup.writes().items() if n}
            assert 0 < len(written) < len(NAMES)
            filler.unlink()
            with StateStore.open(state) as store:
                recorded = {
                    e.email_key for r in store.last_runs(5) for e in store.audit_for_run(r.run_id)
                }
                recorded |= {p.email_key for p in store.in_flight()}
            assert written <= recorded  # every platform write was recorded before it was sent
            again = subprocess.run(
                [sys.executable, "-m", "certsync", *setup.args("--report-dir", "r2", state=state)],
                cwd=tmp_path,
                env={**os.environ, **ENV},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert again.returncode == ExitCode.OK, again.stderr
            assert set(setup.writes().values()) == {1}
    finally:
        slow.stop()
