"""`certsync sandbox --platform s2low|pastell`: seeded accounts, answered as the sources do."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from certsync.sandbox.cli import add_parser, run
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER

FIRST_PAGE = {
    "s2low": ("/admin/users/admin_users.php?api=1", b"Gu\\u00e9gan"),
    "pastell": ("/api/v2/utilisateur?id_e=1", b"n.guegan@plouha.bzh"),
}


@pytest.mark.parametrize("platform", sorted(FIRST_PAGE))
def test_cli_seeds_accounts(platform: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    roster = tmp_path / "agents.csv"
    roster.write_text("email;nom;prenom\nn.guegan@plouha.bzh;Guégan;Nolwenn\n", encoding="utf-8")
    parser = argparse.ArgumentParser(prog="certsync")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["sandbox", "--platform", platform, "--port", str(port), "--accounts", str(roster)]
    )
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run(args, stop=stop)))
    thread.start()
    path, expected = FIRST_PAGE[platform]
    try:
        answer = None
        for _ in range(50):
            try:
                answer = requests.get(
                    f"http://127.0.0.1:{port}{path}",
                    auth=(DEMO_USER, DEMO_PASSWORD) if platform == "s2low" else None,
                    headers={"Authorization": f"Bearer {DEMO_TOKEN}"}
                    if platform == "pastell"
                    else {},
                    timeout=5,
                )
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert answer is not None and answer.status_code == 200
        assert expected in answer.content and answer.content.isascii()
    finally:
        stop.set()
        thread.join(5)
    assert result == [0]
