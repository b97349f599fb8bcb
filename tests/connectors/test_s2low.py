"""S²LOW: what a careless client breaks against the sandbox, and that the connector does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from certsync.connectors.interface import Account, Rejected
from certsync.connectors.s2low import S2lowConnector, parse_answer
from certsync.errors import PlatformProtocolError
from certsync.findings import Code
from certsync.push import push
from certsync.records import AgentStatus
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.s2low import DUPLICATE_IDENTITY, Admin, S2lowApp
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, Request, Response
from certsync.sandbox.server import SandboxCredentials as Creds
from tests.connectors.kit import Person, connect, fast_config, people

AUTH = (DEMO_USER, DEMO_PASSWORD)
LIST = "/admin/users/admin_users.php"
EDIT = "/admin/users/admin_user_edit_handler.php"


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


def _s2low(persons: list[Person]) -> SandboxHandle:
    return start_sandbox("s2low", accounts=[p.account_row for p in persons], credentials=Creds())


def _app(sandbox: SandboxHandle) -> S2lowApp:
    assert isinstance(sandbox.app, S2lowApp)
    return sandbox.app


def _connector(sandbox: SandboxHandle) -> S2lowConnector:
    connector = connect("s2low", sandbox.url)
    assert isinstance(connector, S2lowConnector)
    return connector


def _set(sandbox: SandboxHandle, email: str, **extra: str) -> None:
    with sandbox.store.mutate():
        account = sandbox.store.by_email(email)
        assert account is not None
        account.extra.update(extra)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr("certsync.connectors.s2low.PAGE_SIZE", 4)
    yield


def test_three_error_shapes() -> None:
    with pytest.raises(Rejected) as ko:
        parse_answer(_response(200, "KO\nErreur d'analyse du certificat.\n".encode("latin-1")))
    assert ko.value.message == "Erreur d'analyse du certificat."
    body = b'{"status":"error","error-message":"authority_id est obligatoire"}'
    with pytest.raises(Rejected) as js:
        parse_answer(_response(200, body))
    assert js.value.message == "authority_id est obligatoire"
    with pytest.raises(PlatformProtocolError):
        parse_answer(_response(302, b"", {"Location": "/admin/users/admin_users.php"}))
    with pytest.raises(PlatformProtocolError):
        parse_answer(_response(200, b"<html>Bienvenue</html>"))


def test_json_is_ascii_with_escapes_like_json_encode() -> None:
    row = {"email": "n.guegan@plouha.bzh", "nom": "Guégan", "prenom": "Nolwenn"}
    with start_sandbox("s2low", accounts=[row], credentials=Creds()) as sandbox:
        raw = requests.get(f"{sandbox.url}{LIST}?api=1", auth=AUTH, timeout=5)
        assert raw.headers["Content-Type"] == "text/plain"
        assert b"Gu\\u00e9gan" in raw.content and raw.content.isascii()
        assert _connector(sandbox).list_accounts()["n.guegan@plouha.bzh"].nom == "Guégan"


def test_one_page_client_misses_accounts_and_inactive_users() -> None:
    persons = people(14)
    with _s2low(persons) as sandbox:
        _set(sandbox, persons[0].agent.email, status="0")
        naive = requests.get(f"{sandbox.url}{LIST}?api=1", auth=AUTH, timeout=5).json()
        assert len(naive) == 10  # DEFAULT_ITEMS_PER_PAGE, active users only
        listed = {row["email"] for row in naive}
        assert persons[0].agent.email not in listed
        everyone = requests.get(
            f"{sandbox.url}{LIST}", params={"api": "1", "status": "", "count": "50"}, auth=AUTH
        ).json()
        assert len(everyone) == 14
        last = requests.get(f"{sandbox.url}{LIST}?api=1&page=2", auth=AUTH, timeout=5).json()
        beyond = requests.get(f"{sandbox.url}{LIST}?api=1&page=9", auth=AUTH, timeout=5).json()
        assert beyond == last and len(last) == 3  # a page past the end is the last page


def test_utf8_fields_sent_with_api_come_back_garbled() -> None:
    person = people(1)[0]
    with _s2low([person]) as sandbox:
        account = next(iter(sandbox.store.accounts.values()))
        fields = {
            "api": "1",
            "id": account.id,
            "name": "Le Bihan",
            "givenname": "Hélène",
            "email": account.email,
            "status": "1",
            "authority_id": "1",
            "role": "USER",
            "perm_1": "RW",
        }
        files = {"certificate": ("c.pem", person.pem)}
        answer = requests.post(f"{sandbox.url}{EDIT}", data=fields, files=files, auth=AUTH)
        assert answer.json()["status"] == "ok"
        assert account.prenom == "HÃ©lÃ¨ne"  # utf8_encode of UTF-8 bytes


def test_fields_not_sent_are_lost() -> None:
    person = people(1)[0]
    with _s2low([person]) as sandbox:
        account = next(iter(sandbox.store.accounts.values()))
        _set(sandbox, account.email, **{"perm:2": "RO"})
        fields = {"api": "1", "id": account.id, "name": account.nom, "givenname": account.prenom}
        fields |= {"email": account.email, "authority_id": "1"}
        files = {"certificate": ("c.pem", person.pem)}
        requests.post(f"{sandbox.url}{EDIT}", data=fields, files=files, auth=AUTH, timeout=5)
        # status defaults to 0, role to USER, every module to NONE.
        assert account.extra["status"] == "0"
        assert (account.extra["perm:1"], account.extra["perm:2"]) == ("NONE", "NONE")


def test_non_super_admin_turns_group_admin_into_adm() -> None:
    person = people(1)[0]
    with _s2low([person]) as sandbox:
        account = next(iter(sandbox.store.accounts.values()))
        fields = {"api": "1", "id": account.id, "name": account.nom, "givenname": account.prenom}
        fields |= {"email": account.email, "authority_id": "1", "status": "1"}
        fields |= {"role": "GADM", "authority_group_id": "1"}
        with sandbox.store.mutate():
            account.certificate = person.pem.decode()
            account.extra["certificate_hash"] = "x"
        requests.post(f"{sandbox.url}{EDIT}", data=fields, auth=AUTH, timeout=5)
        assert account.extra["role"] == "ADM"
        _app(sandbox).admin = Admin("SADM")
        requests.post(f"{sandbox.url}{EDIT}", data=fields, auth=AUTH, timeout=5)
        assert account.extra["role"] == "GADM"


@pytest.mark.usefixtures("small_pages")
def test_listing_reads_every_page_and_status() -> None:
    persons = people(11)
    with _s2low(persons) as sandbox:
        _set(sandbox, persons[3].agent.email, status="0")
        listing = _connector(sandbox).listing()
        assert listing.complete
        assert set(listing.accounts) == {p.agent.email_key for p in persons}
        assert [a.active for a in listing.accounts.values()].count(False) == 1
        assert not listing.accounts[persons[3].agent.email_key].active
        assert {a.organisation for a in listing.accounts.values()} == {"1"}


@pytest.mark.usefixtures("small_pages")
def test_unreadable_page_is_a_gap() -> None:
    persons = people(10)
    with _s2low(persons) as sandbox:
        app = _app(sandbox)
        real = app.handle

        def broken(request: Request) -> Response:
            if request.arg("page") == "2":
                return Response(500, b"<html>Internal Server Error</html>", "text/html")
            return real(request)

        app.handle = broken  # type: ignore[method-assign]
        listing = _connector(sandbox).listing()
        assert not listing.complete and "page 2" in listing.gaps[0]
        assert len(listing.accounts) == 4


def _all_snapshots(connector: S2lowConnector) -> dict[str, tuple[tuple[str, str], ...]]:
    return {k: connector.read_account(a).fields for k, a in connector.listing().accounts.items()}


@pytest.mark.usefixtures("small_pages")
def test_full_push_of_accented_names_changes_no_field() -> None:
    persons = people(13)
    with _s2low(persons) as sandbox:
        app = _app(sandbox)
        app.admin = Admin("GADM", "1", "1")
        extras = [
            {"telephone": "02 96 00 00 00", "perm:2": "RO", "authority_id": "2"},
            {"login": "hlebihan", "role": "ADM", "perm:3": "RW", "authority_id": "3"},
            {"role": "ARCH", "perm:1": "NONE", "telephone": "+33 6 12"},
        ]
        for person, extra in zip(persons, extras, strict=False):
            _set(sandbox, person.agent.email, **extra)
        connector = _connector(sandbox)
        before = _all_snapshots(connector)
        config = fast_config("s2low")
        run = push([p.item for p in persons], connector, config)
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        assert _all_snapshots(connector) == before
        stored = {a.email: (a.nom, a.prenom) for a in sandbox.store.accounts.values()}
        assert stored == {p.agent.email: (p.agent.nom, p.agent.prenom) for p in persons}
        writes = [a["writes"] for a in sandbox.accounts()]
        again = push([p.item for p in persons], connector, config)
        assert {o.status for o in again.outcomes} == {AgentStatus.UNCHANGED}
        assert [a["writes"] for a in sandbox.accounts()] == writes


def test_value_outside_latin1_is_not_written() -> None:
    person = people(1)[0]
    row = {"email": "a.coeur@brest.bzh", "nom": "Cœur", "prenom": "Anaïs"}
    with start_sandbox("s2low", accounts=[row], credentials=Creds()) as sandbox:
        connector = _connector(sandbox)
        account = connector.list_accounts()["a.coeur@brest.bzh"]
        with pytest.raises(Rejected) as caught:
            connector.write_certificate(account, person.pem.decode())
        assert "Champ nom « Cœur »" in caught.value.message and "« œ »" in caught.value.message
        assert sandbox.accounts()[0]["writes"] == 0


def test_trailing_space_is_not_written() -> None:
    person = people(1)[0]
    with _s2low([person]) as sandbox:
        _set(sandbox, person.agent.email, telephone="02 96 ")
        connector = _connector(sandbox)
        account = connector.list_accounts()[person.agent.email_key]
        with pytest.raises(Rejected, match="téléphone"):
            connector.write_certificate(account, person.pem.decode())


def test_inactive_and_group_admin_accounts_are_not_written() -> None:
    a, b = people(2)
    with _s2low([a, b]) as sandbox:
        _set(sandbox, a.agent.email, status="0")
        _set(sandbox, b.agent.email, role="GADM", authority_group_id="1")
        connector = _connector(sandbox)
        accounts = connector.list_accounts()
        with pytest.raises(Rejected, match="désactivé"):
            connector.write_certificate(accounts[a.agent.email_key], a.pem.decode())
        with pytest.raises(Rejected, match="GADM"):
            connector.write_certificate(accounts[b.agent.email_key], b.pem.decode())
        assert all(x["writes"] == 0 for x in sandbox.accounts())


def test_certificate_held_by_another_account_follows_has_doublon() -> None:
    a, b = people(2)
    with _s2low([a, b]) as sandbox:
        connector = _connector(sandbox)
        accounts = connector.list_accounts()
        connector.write_certificate(accounts[a.agent.email_key], a.pem.decode())
        raw = requests.post(
            f"{sandbox.url}{EDIT}",
            data={"api": "1", "id": accounts[b.agent.email_key].id, "authority_id": "1"},
            files={"certificate": ("c.pem", a.pem)},
            auth=AUTH,
            timeout=5,
        )
        assert raw.json()["error-message"] == DUPLICATE_IDENTITY
        with pytest.raises(Rejected) as caught:
            connector.write_certificate(accounts[b.agent.email_key], a.pem.decode())
        assert "hasDoublon" in caught.value.message and "login/mot de passe" in caught.value.message
        # Both with a login ("certificat partagé"): S²LOW accepts the shared certificate.
        _set(sandbox, a.agent.email, login="a.login")
        _set(sandbox, b.agent.email, login="b.login")
        connector.write_certificate(accounts[b.agent.email_key], a.pem.decode())
        assert connector.read_certificate(accounts[b.agent.email_key]) == a.pem.decode()


def test_push_reports_rejection_as_finding() -> None:
    person = people(1)[0]
    row = {"email": person.agent.email, "nom": "Œuvrard", "prenom": "Zoé"}
    with start_sandbox("s2low", accounts=[row], credentials=Creds()) as sandbox:
        run = push([person.item], _connector(sandbox), fast_config("s2low"))
        assert run.outcomes[0].findings[0].code is Code.MEGALIS_REJECTED


def test_wrong_login_is_an_auth_error() -> None:
    with start_sandbox("s2low", credentials=Creds()) as sandbox:
        connector = connect(
            "s2low", sandbox.url, env={"CERTSYNC_USER": "x", "CERTSYNC_PASSWORD": "y"}
        )
        with pytest.raises(Exception, match="pas reconnu"):
            connector.check()


def test_survey_counts_authorities_and_inactive() -> None:
    persons = people(3)
    with _s2low(persons) as sandbox:
        _app(sandbox).admin = Admin("SADM")
        _set(sandbox, persons[0].agent.email, authority_id="2")
        _set(sandbox, persons[1].agent.email, status="0")
        survey = _connector(sandbox).survey()
        assert {(o.id, o.accounts) for o in survey.organisations} == {("1", 2), ("2", 1)}
        assert survey.can_edit and any("désactivé" in n for n in survey.notes)


def test_read_account_lists_every_field() -> None:
    person = people(1)[0]
    with _s2low([person]) as sandbox:
        _set(sandbox, person.agent.email, login="jdupont", **{"perm:2": "RO"})
        connector = _connector(sandbox)
        account = connector.list_accounts()[person.agent.email_key]
        fields = connector.read_account(account).field_map()
        assert fields["login"] == "jdupont" and fields["status"] == "1"
        assert (fields["perm_1"], fields["perm_2"], fields["perm_3"]) == ("RW", "RO", "NONE")
        assert fields["name"] == person.agent.nom and fields["role"] == "USER"
        assert isinstance(account, Account)
