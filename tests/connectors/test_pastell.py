"""Pastell: what a careless client breaks against the sandbox, and that the connector does not."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from certsync.config import PlatformConfig
from certsync.connectors import make_connector
from certsync.connectors.interface import Rejected
from certsync.connectors.pastell import PastellConnector
from certsync.errors import PlatformAuthError
from certsync.push import push
from certsync.records import AgentStatus
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.pastell import PastellApp
from certsync.sandbox.server import DEMO_TOKEN, Request, Response
from certsync.sandbox.server import SandboxCredentials as Creds
from tests.connectors.kit import Person, connect, fast_config, people

BEARER = {"Authorization": f"Bearer {DEMO_TOKEN}"}
#: Entities of the sandbox: 1 (root of the admin's role) > 2, 3 > 4.
PLACES = ("1", "2", "3", "4")


def _pastell(persons: list[Person], *, spread: bool = True) -> SandboxHandle:
    sandbox = start_sandbox(
        "pastell", accounts=[p.account_row for p in persons], credentials=Creds()
    )
    if spread:
        with sandbox.store.mutate():
            for i, account in enumerate(sandbox.store.accounts.values()):
                account.extra["id_e"] = PLACES[i % len(PLACES)]
    return sandbox


def _connector(
    sandbox: SandboxHandle,
    *,
    env: dict[str, str] | None = None,
    slept: list[float] | None = None,
    entity_id: str = "",
) -> PastellConnector:
    connector = connect("pastell", sandbox.url, env=env, slept=slept, entity_id=entity_id)
    assert isinstance(connector, PastellConnector)
    return connector


def _with_certificate(sandbox: SandboxHandle, person: Person) -> str:
    with sandbox.store.mutate():
        account = sandbox.store.by_email(person.agent.email)
        assert account is not None
        account.certificate = person.pem.decode()
        return account.id


def test_v2_patch_erases_the_certificate_even_with_a_file() -> None:
    person = people(1)[0]
    with _pastell([person], spread=False) as sandbox:
        id_u = _with_certificate(sandbox, person)
        url = f"{sandbox.url}/api/v2/utilisateur/{id_u}"
        kept = requests.patch(
            url, data={"dont_delete_certificate_if_empty": "1"}, headers=BEARER, timeout=5
        )
        assert kept.status_code == 200 and kept.json()["certificat"]
        # PHP fills no $_FILES on PATCH and parse_str cannot read a multipart body.
        files = {"certificat": ("c.pem", person.pem)}
        wiped = requests.patch(url, files=files, headers=BEARER, timeout=5)
        assert wiped.status_code == 200 and wiped.json()["result"] == "ok"
        assert wiped.json()["certificat"] == ""
        assert sandbox.accounts()[0]["sha256"] is None and sandbox.accounts()[0]["deletions"] == 1


def test_legacy_script_garbles_utf8_fields() -> None:
    person = people(1)[0]
    with _pastell([person], spread=False) as sandbox:
        id_u = next(iter(sandbox.store.accounts))
        files = {"certificat": ("c.pem", person.pem)}
        answer = requests.post(
            f"{sandbox.url}/api/modif-utilisateur.php",
            data={"id_u": id_u, "prenom": "Hélène"},
            files=files,
            headers=BEARER,
            timeout=5,
        )
        assert answer.status_code == 200 and answer.json()["active"] == "1"
        assert sandbox.store.accounts[id_u].prenom == "HÃ©lÃ¨ne"


def test_one_entity_listing_misses_users_of_child_entities() -> None:
    persons = people(8)
    with _pastell(persons) as sandbox:
        one = requests.get(
            f"{sandbox.url}/api/v2/utilisateur", params={"id_e": "1"}, headers=BEARER, timeout=5
        )
        assert isinstance(one.json(), list) and len(one.json()) == 2
        entities = requests.get(f"{sandbox.url}/api/v2/entite", headers=BEARER, timeout=5).json()
        assert sorted(e["id_e"] for e in entities) == list(PLACES)
        detail = requests.get(f"{sandbox.url}/api/v2/entite/3", headers=BEARER, timeout=5).json()
        assert detail["entite_fille"] == [{"id_e": "4"}]


def test_listing_walks_the_whole_tree() -> None:
    persons = people(8)
    with _pastell(persons) as sandbox:
        listing = _connector(sandbox).listing()
        assert listing.complete
        assert set(listing.accounts) == {p.agent.email_key for p in persons}
        assert {a.organisation for a in listing.accounts.values()} == set(PLACES)


def test_configured_root_entity_lists_it_and_its_children() -> None:
    persons = people(8)
    with _pastell(persons) as sandbox:
        listing = _connector(sandbox, entity_id="3").listing()
        assert {a.organisation for a in listing.accounts.values()} == {"3", "4"}
        assert len(listing.accounts) == 4 and listing.complete


def test_entity_that_cannot_be_read_is_a_gap() -> None:
    persons = people(8)
    with _pastell(persons) as sandbox:
        app = sandbox.app
        assert isinstance(app, PastellApp)
        real = app.handle

        def broken(request: Request) -> Response:
            if request.arg("id_e") == "4":
                return Response(500, b"<html>Internal Server Error</html>", "text/html")
            return real(request)

        app.handle = broken  # type: ignore[method-assign]
        listing = _connector(sandbox).listing()
        assert len(listing.gaps) == 1 and "CCAS de Brest" in listing.gaps[0]
        assert len(listing.accounts) == 6


def test_inactive_user_is_listed_inactive_and_never_written() -> None:
    a, b = people(2)
    with _pastell([a, b], spread=False) as sandbox:
        id_u = next(iter(sandbox.store.accounts))
        off = requests.post(
            f"{sandbox.url}/api/v2/utilisateur/{id_u}/deactivate", headers=BEARER, timeout=5
        )
        assert off.status_code == 201 and off.json()["active"] is False
        connector = _connector(sandbox)
        accounts = connector.listing().accounts
        assert not accounts[a.agent.email_key].active and accounts[b.agent.email_key].active
        with pytest.raises(Rejected, match="désactivé"):
            connector.write_certificate(accounts[a.agent.email_key], a.pem.decode())
        assert sandbox.accounts()[0]["writes"] == 0


def test_full_push_over_entities_changes_no_field_and_never_patches() -> None:
    persons = people(12)
    with _pastell(persons) as sandbox:
        connector = _connector(sandbox)
        listing = connector.listing()
        before = {k: connector.read_account(a).fields for k, a in listing.accounts.items()}
        config = fast_config("pastell")
        items = [p.item for p in persons]
        assert {o.status for o in push(items, connector, config).outcomes} == {AgentStatus.PUSHED}
        after = {k: connector.read_account(a).fields for k, a in listing.accounts.items()}
        assert after == before
        names = {(a.nom, a.prenom) for a in sandbox.store.accounts.values()}
        assert names == {(p.agent.nom, p.agent.prenom) for p in persons}
        again = push(items, connector, config)
        assert {o.status for o in again.outcomes} == {AgentStatus.UNCHANGED}
        assert "PATCH" not in {r["method"] for r in sandbox.requests()}
        assert all(a["deletions"] == 0 and a["writes"] == 1 for a in sandbox.accounts())


def test_unauthorised_answer_is_401_with_basic_realm() -> None:
    with start_sandbox("pastell", credentials=Creds()) as sandbox:
        answer = requests.get(f"{sandbox.url}/api/v2/utilisateur", auth=("x", "y"), timeout=5)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="API Pastell"'
        assert answer.json() == {"status": "error", "error-message": "Accès interdit"}


def test_login_attempts_are_rate_limited() -> None:
    with start_sandbox("pastell", credentials=Creds()) as sandbox:
        url = f"{sandbox.url}/api/v2/version"
        statuses = [requests.get(url, auth=("x", "y"), timeout=5).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        blocked = requests.get(url, headers=BEARER, timeout=5)  # even the right token, now
        assert blocked.status_code == 429 and blocked.headers["Retry-after"] == "60"
        with pytest.raises(Exception, match="60"):
            _connector(sandbox).check()


def test_basic_login_works_without_token() -> None:
    person = people(1)[0]
    env = {"CERTSYNC_USER": "admin@megalis.test", "CERTSYNC_PASSWORD": "demo"}
    with _pastell([person], spread=False) as sandbox:
        connector = _connector(sandbox, env=env)
        connector.check()
        assert list(connector.list_accounts()) == [person.agent.email_key]


def test_throttled_requests_wait_for_retry_after() -> None:
    persons = people(2)
    slept: list[float] = []
    with start_sandbox(
        "pastell", accounts=[p.account_row for p in persons], throttle_every=3, credentials=Creds()
    ) as sandbox:
        connector = _connector(sandbox, slept=slept)
        run = push([p.item for p in persons], connector, fast_config("pastell"))
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        assert 1.0 in slept  # Retry-after: 1, honoured as sent


def test_entities_refused_is_an_auth_error() -> None:
    with start_sandbox("pastell", credentials=Creds()) as sandbox:
        app = sandbox.app
        assert isinstance(app, PastellApp)
        app.admin_entity = "99"
        connector = _connector(sandbox, entity_id="2")
        with pytest.raises(PlatformAuthError, match="entite:lecture"):
            connector.check()


def test_survey_names_entities_with_counts() -> None:
    persons = people(8)
    with _pastell(persons) as sandbox:
        survey = _connector(sandbox).survey()
        counts = {(o.id, o.label, o.accounts) for o in survey.organisations}
        assert ("4", "CCAS de Brest", 2) in counts and len(counts) == 4
        assert survey.can_edit


def test_token_file_is_read(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(DEMO_TOKEN + "\n", encoding="utf-8")
    with start_sandbox("pastell", credentials=Creds()) as sandbox:
        connector = make_connector(
            PlatformConfig(name="pastell", token_file=token), url=sandbox.url, env={}
        )
        connector.check()
