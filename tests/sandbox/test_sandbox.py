"""The sandbox itself: accounts files, state persistence, fault injection, credentials, CLI."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from certsync.sandbox import fetch_accounts, start_sandbox
from certsync.sandbox.cli import add_parser, run
from certsync.sandbox.server import DEMO_TOKEN, SandboxCredentials
from certsync.sandbox.store import read_accounts
from tests.connectors.kit import PLATFORMS, connect, people


def test_accounts_csv_variants(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes("\ufeffCourriel;Nom;Prénom\nh.lebihan@plouha.bzh;Le Bihan;Hélène\n".encode())
    assert read_accounts(roster) == [
        {"email": "h.lebihan@plouha.bzh", "nom": "Le Bihan", "prenom": "Hélène"}
    ]
    plain = tmp_path / "plain.csv"
    plain.write_text("e-mail,nom,prenom\ny.kergoat@brest.bzh,Kergoat,Yann\n", encoding="utf-8")
    assert read_accounts(plain)[0]["email"] == "y.kergoat@brest.bzh"
    export = tmp_path / "export_agent.csv"
    export.write_bytes(
        '\ufeff"user_id";"user_firstname";"user_lastname";"profil_id";"profil_email"\n'
        '"7";"Loïc";"Riou";"4242";"l.riou@quimper.bzh"\n'.encode()
    )
    rows = read_accounts(export)
    assert rows == [{"prenom": "Loïc", "nom": "Riou", "id": "4242", "email": "l.riou@quimper.bzh"}]
    with start_sandbox("socle", accounts=export, credentials=SandboxCredentials()) as sandbox:
        assert [a["id"] for a in sandbox.accounts()] == ["4242"]
    bad = tmp_path / "bad.csv"
    bad.write_text("nom;prenom\nRiou;Loïc\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_accounts(bad)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_state_survives_restart(platform: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    persons = people(2)
    with start_sandbox(
        platform,
        accounts=[p.account_row for p in persons],
        state=state,
        credentials=SandboxCredentials(),
    ) as sandbox:
        first = fetch_accounts(sandbox.url)  # no credentials needed
        assert [a["email"] for a in first] == [p.agent.email for p in persons]
        assert all(a["sha256"] is None and a["writes"] == 0 for a in first)
    assert json.loads(state.read_text(encoding="utf-8"))["platform"] == platform
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left behind
    with start_sandbox(
        platform,
        accounts=[p.account_row for p in persons],
        state=state,
        credentials=SandboxCredentials(),
    ) as again:
        assert fetch_accounts(again.url) == first
        with again.store.mutate():
            new = again.store.add("nouvel.agent@brest.bzh")
        assert int(new.id) > max(int(str(a["id"])) for a in first)


def test_fault_injection_is_seeded_and_counted() -> None:
    def statuses(seed: int) -> list[int]:
        with start_sandbox(
            "pastell", fail_rate=0.5, throttle_every=4, seed=seed, credentials=SandboxCredentials()
        ) as sandbox:
            headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
            answers = [
                requests.get(f"{sandbox.url}/api/v2/version", headers=headers, timeout=5)
                for _ in range(12)
            ]
            throttled = [a for a in answers if a.status_code == 429]
            assert all(a.headers["Retry-after"] == "1" for a in throttled)
            return [a.status_code for a in answers]

    first = statuses(7)
    assert first == statuses(7)
    assert first[3] == first[7] == first[11] == 429
    assert 503 in first and 200 in first


def test_latency_is_added() -> None:
    with start_sandbox("s2low", latency_ms=120, credentials=SandboxCredentials()) as sandbox:
        started = time.monotonic()
        requests.get(f"{sandbox.url}/admin/users/admin_users.php?api=1", timeout=5)
        assert time.monotonic() - started >= 0.12


def test_credentials_from_environment() -> None:
    creds = SandboxCredentials.from_env({"CERTSYNC_USER": "chef", "CERTSYNC_PASSWORD": "pw"})
    with start_sandbox("pastell", credentials=creds) as sandbox:
        with pytest.raises(Exception, match="refuse"):
            connect("pastell", sandbox.url, env={"CERTSYNC_TOKEN": DEMO_TOKEN}).check()
        connect(
            "pastell", sandbox.url, env={"CERTSYNC_USER": "chef", "CERTSYNC_PASSWORD": "pw"}
        ).check()
    assert SandboxCredentials.from_env({}) == SandboxCredentials()


def test_cli_serves_until_stopped(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    parser = argparse.ArgumentParser(prog="certsync")
    add_parser(parser.add_subparsers(dest="command"))
    roster = tmp_path / "agents.csv"
    roster.write_text("email;nom;prenom\na@b.bzh;Riou;Loïc\n", encoding="utf-8")
    args = parser.parse_args(
        [
            "sandbox",
            "--platform",
            "socle",
            "--port",
            str(port),
            "--accounts",
            str(roster),
            "--fail-rate",
            "0",
        ]
    )
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run(args, stop=stop)))
    thread.start()
    try:
        for _ in range(50):
            try:
                accounts = fetch_accounts(f"http://127.0.0.1:{port}")
                break
            except OSError:
                time.sleep(0.05)
        assert [a["email"] for a in accounts] == ["a@b.bzh"]
    finally:
        stop.set()
        thread.join(5)
    assert result == [0]
    with pytest.raises(SystemExit):
        parser.parse_args(["sandbox", "--platform", "socle", "--fail-rate", "1.5"])


def test_accounts_from_an_xlsx_roster_with_a_title_row(tmp_path: Path) -> None:
    from certsync.testkit.rosters import write_xlsx

    roster = write_xlsx(
        tmp_path / "agents.xlsx",
        [{"Nom": "Cœur", "Prénom": "Ærin", "Courriel": "aerin.coeur@plœmeur.bzh"}],
        title="Liste des agents",
    )
    assert read_accounts(roster) == [
        {"email": "aerin.coeur@plœmeur.bzh", "nom": "Cœur", "prenom": "Ærin"}
    ]
