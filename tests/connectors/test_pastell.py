"""Pastell: the PATCH trap, authentication answers, Retry-after."""

from __future__ import annotations

import requests

from certsync.config import PlatformConfig
from certsync.push import push
from certsync.records import AgentStatus
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import DEMO_TOKEN, SandboxCredentials
from tests.connectors.kit import connect, fast_config, people


def test_sandbox_reproduces_the_patch_trap() -> None:
    person = people(1)[0]
    with start_sandbox(
        "pastell", accounts=[person.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        account = next(iter(sandbox.store.accounts.values()))
        with sandbox.store.mutate():
            account.certificate = person.pem.decode()
        headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
        url = f"{sandbox.url}/api/v2/utilisateur/{account.id}"
        kept = requests.patch(
            url,
            data={"nom": "Riou", "dont_delete_certificate_if_empty": "1"},
            headers=headers,
            timeout=5,
        )
        assert kept.status_code == 200 and kept.json()["certificat"]
        wiped = requests.patch(url, data={"nom": "Riou"}, headers=headers, timeout=5)
        assert wiped.status_code == 200 and wiped.json()["result"] == "ok"
        assert wiped.json()["certificat"] == ""
        assert sandbox.accounts()[0]["sha256"] is None and sandbox.accounts()[0]["deletions"] == 1


def test_connector_never_patches_and_never_erases() -> None:
    persons = people(4)
    with start_sandbox(
        "pastell", accounts=[p.account_row for p in persons], credentials=SandboxCredentials()
    ) as sandbox:
        connector = connect("pastell", sandbox.url)
        config = fast_config("pastell")
        items = [p.item for p in persons]
        assert {o.status for o in push(items, connector, config).outcomes} == {AgentStatus.PUSHED}
        renewed = [p.item for p in people(4, start=10)]
        renewed = [
            type(r)(i.row, i.agent, r.sha256, r.der) for i, r in zip(items, renewed, strict=True)
        ]
        assert {o.status for o in push(renewed, connector, config).outcomes} == {AgentStatus.PUSHED}
        methods = {r["method"] for r in sandbox.requests()}
        assert "PATCH" not in methods
        assert all(a["deletions"] == 0 and a["writes"] == 2 for a in sandbox.accounts())
        names = {(a.nom, a.prenom) for a in sandbox.store.accounts.values()}
        assert names == {(p.agent.nom, p.agent.prenom) for p in persons}


def test_unauthorised_answer_is_401_with_basic_realm() -> None:
    with start_sandbox("pastell", credentials=SandboxCredentials()) as sandbox:
        answer = requests.get(f"{sandbox.url}/api/v2/utilisateur", auth=("x", "y"), timeout=5)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="API Pastell"'
        assert answer.json()["status"] == "error"


def test_basic_login_works_without_token() -> None:
    person = people(1)[0]
    env = {"CERTSYNC_USER": "admin@megalis.test", "CERTSYNC_PASSWORD": "demo"}
    with start_sandbox(
        "pastell", accounts=[person.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        connector = connect("pastell", sandbox.url, env=env)
        connector.check()
        assert list(connector.list_accounts()) == [person.agent.email_key]


def test_throttled_requests_wait_for_retry_after() -> None:
    persons = people(2)
    slept: list[float] = []
    with start_sandbox(
        "pastell",
        accounts=[p.account_row for p in persons],
        throttle_every=3,
        credentials=SandboxCredentials(),
    ) as sandbox:
        connector = connect("pastell", sandbox.url, slept=slept)
        run = push([p.item for p in persons], connector, fast_config("pastell"))
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        assert 1.0 in slept  # Retry-after: 1, honoured as sent


def test_token_file_is_read(tmp_path: object) -> None:
    from pathlib import Path

    token = Path(str(tmp_path)) / "token"
    token.write_text(DEMO_TOKEN + "\n", encoding="utf-8")
    with start_sandbox("pastell", credentials=SandboxCredentials()) as sandbox:
        from certsync.connectors import make_connector

        connector = make_connector(
            PlatformConfig(name="pastell", token_file=token), url=sandbox.url, env={}
        )
        connector.check()
