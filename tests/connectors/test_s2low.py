"""S²LOW: ISO-8859-1 bodies, the duplicate-certificate rule, the three error shapes."""

from __future__ import annotations

import pytest
import requests

from certsync.connectors.interface import Rejected
from certsync.connectors.s2low import parse_answer
from certsync.errors import PlatformProtocolError
from certsync.findings import Code
from certsync.push import PushItem, push
from certsync.records import Agent, AgentStatus
from certsync.sandbox import start_sandbox
from certsync.sandbox.s2low import DUPLICATE_CERTIFICATE, PARSE_ERROR
from certsync.sandbox.server import SandboxCredentials
from tests.connectors.kit import connect, fast_config, people


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


def test_three_error_shapes() -> None:
    with pytest.raises(Rejected) as ko:
        parse_answer(_response(200, "KO\nErreur d'analyse du certificat.\n".encode("latin-1")))
    assert ko.value.message == "Erreur d'analyse du certificat."
    body = '{"status":"error","error-message":"authority_id est obligatoire"}'.encode("latin-1")
    with pytest.raises(Rejected) as js:
        parse_answer(_response(200, body))
    assert js.value.message == "authority_id est obligatoire"
    with pytest.raises(PlatformProtocolError):
        parse_answer(_response(302, b"", {"Location": "/admin/users/admin_users.php"}))
    with pytest.raises(PlatformProtocolError):
        parse_answer(_response(200, b"<html>Bienvenue</html>"))
    assert parse_answer(_response(200, b"OK\nfait\n")) == {"status": "ok", "message": "fait"}


def test_latin1_bodies_decoded() -> None:
    person = people(1)[0]
    row = {"email": "n.guegan@plouha.bzh", "nom": "Guégan", "prenom": "Nolwenn"}
    with start_sandbox("s2low", accounts=[row], credentials=SandboxCredentials()) as sandbox:
        raw = requests.get(
            f"{sandbox.url}/admin/users/admin_users.php?api=1",
            auth=("admin@megalis.test", "demo"),
            timeout=5,
        )
        assert b"Gu\xe9gan" in raw.content
        connector = connect("s2low", sandbox.url)
        accounts = connector.list_accounts()
        assert accounts["n.guegan@plouha.bzh"].nom == "Guégan"
        agent = Agent(2, row["email"], "Guégan", "Nolwenn")
        run = push(
            [PushItem(2, agent, person.item.sha256, person.der)], connector, fast_config("s2low")
        )
        assert run.outcomes[0].status is AgentStatus.PUSHED
        stored = next(iter(sandbox.store.accounts.values()))
        assert (stored.nom, stored.prenom) == ("Guégan", "Nolwenn")


def test_name_outside_latin1_is_not_damaged() -> None:
    person = people(1)[0]
    row = {"email": "a.coeur@brest.bzh", "nom": "Cœur", "prenom": "Anaïs"}
    with start_sandbox("s2low", accounts=[row], credentials=SandboxCredentials()) as sandbox:
        connector = connect("s2low", sandbox.url)
        agent = Agent(2, row["email"], "Cœur", "Anaïs")
        run = push(
            [PushItem(2, agent, person.item.sha256, person.der)], connector, fast_config("s2low")
        )
        assert run.outcomes[0].findings[0].code is Code.MEGALIS_REJECTED
        assert next(iter(sandbox.store.accounts.values())).nom == "Cœur"
        assert sandbox.accounts()[0]["writes"] == 0


def test_duplicate_certificate_rule() -> None:
    a, b = people(2)
    shared = PushItem(b.agent.row, b.agent, a.item.sha256, a.der)
    with start_sandbox(
        "s2low", accounts=[a.account_row, b.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        connector = connect("s2low", sandbox.url)
        run = push([a.item, shared], connector, fast_config("s2low", workers=1))
        assert run.outcomes[0].status is AgentStatus.PUSHED
        assert run.outcomes[1].status is AgentStatus.FAILED
        finding = run.outcomes[1].findings[0]
        assert finding.code is Code.MEGALIS_REJECTED
        assert finding.params["message"] == DUPLICATE_CERTIFICATE


def test_unparsable_certificate_rejected_verbatim() -> None:
    person = people(1)[0]
    with start_sandbox(
        "s2low", accounts=[person.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        connector = connect("s2low", sandbox.url)
        account = next(iter(connector.list_accounts().values()))
        with pytest.raises(Rejected) as caught:
            connector.write_certificate(
                account, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
            )
        assert caught.value.message == PARSE_ERROR


def test_without_api_flag_the_handler_redirects() -> None:
    with start_sandbox("s2low", credentials=SandboxCredentials()) as sandbox:
        answer = requests.post(
            f"{sandbox.url}/admin/users/admin_user_edit_handler.php",
            files={"name": (None, "x")},
            auth=("admin@megalis.test", "demo"),
            allow_redirects=False,
            timeout=5,
        )
        assert answer.status_code == 302
        with pytest.raises(PlatformProtocolError):
            parse_answer(answer)
