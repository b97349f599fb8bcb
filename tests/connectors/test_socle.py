"""The socle connector against its sandbox: regex, login, organisations, forms, disabled agents."""

from __future__ import annotations

import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from certsync.connectors.htmlform import parse_page
from certsync.connectors.interface import Rejected
from certsync.connectors.pem import SOCLE_CERTIFICATE_RE, der_of_text, sha256_of_text, to_pem
from certsync.connectors.socle import SocleConnector
from certsync.errors import PlatformAuthError, PlatformProtocolError
from certsync.push import push
from certsync.records import AgentStatus
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.keycloak import auth_url as sso_auth_url
from certsync.sandbox.server import SandboxCredentials
from certsync.sandbox.socle import REGEX_MESSAGE, SocleApp
from tests.connectors.kit import Person, connect, fast_config, people


def test_normalised_pem_is_what_the_regex_accepts() -> None:
    person = people(1)[0]
    pem = to_pem(person.der)
    assert SOCLE_CERTIFICATE_RE.fullmatch(pem)
    assert not pem.endswith("\n")
    assert der_of_text(pem) == person.der
    assert sha256_of_text(person.pem.decode().replace("\n", "\r\n")) == person.item.sha256
    assert sha256_of_text("pas un certificat") is None and sha256_of_text(None) is None


@pytest.mark.parametrize(
    "variant",
    [
        lambda pem: pem + "\n",
        lambda pem: pem + "\r\n",
        lambda pem: " " + pem,
        lambda pem: "\n" + pem,
        lambda pem: pem.replace("\n", " \n", 2),
        lambda pem: "Bag Attributes\nsubject=/CN=x\n" + pem,
        lambda pem: pem + "\n" + pem,
    ],
    ids=[
        "trailing-lf",
        "trailing-crlf",
        "leading-space",
        "leading-lf",
        "inner-space",
        "openssl-header",
        "chain",
    ],
)
def test_regex_rejections_are_reported_verbatim(variant: object) -> None:
    person = people(1)[0]
    with start_sandbox(
        "socle", accounts=[person.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        connector = connect("socle", sandbox.url)
        connector.check()
        account = next(iter(connector.list_accounts().values()))
        with pytest.raises(Rejected) as caught:
            connector.write_certificate(account, variant(to_pem(person.der)))  # type: ignore[operator]
        assert caught.value.message == REGEX_MESSAGE
        assert sandbox.accounts()[0]["writes"] == 0
        connector.write_certificate(account, to_pem(person.der))
        assert sandbox.accounts()[0]["sha256"] == person.item.sha256


def test_html_form_parsing_follows_browser_rules() -> None:
    page = parse_page(
        '<div class="alert-dismissable alert alert-danger" role="alert"><button type="button" '
        'class="close">&times;</button><h4>Erreur lors de la modification</h4>'
        "<ul><li>Premier</li><li>Second &amp; fin</li></ul></div>"
        '<div class="alert alert-error"><span class="kc-feedback-text">Mot de passe invalide.'
        '</span></div><p class="error">Erreur lors de l&#39;enregistrement</p>'
        '<a href="/organism/detail/42">Rennes</a>'
        '<form id="f" action="/x" method="post">'
        '<input type="hidden" name="t:formdata" value="a&quot;b">'
        '<input name="plain" value="v"><input type="checkbox" name="off">'
        '<input type="checkbox" name="on" checked><input name="gone" value="x" disabled>'
        '<select name="s"><option value="1">un</option><option value="2">deux</option></select>'
        '<select name="t"><option>A</option><option selected>B</option></select>'
        '<textarea name="c">\nligne1\r\nligne2\n</textarea>'
        '<input type="submit" name="submit" value="Enregistrer"></form>'
    )
    form = page.form("f")
    assert form is not None and form.action == "/x"
    assert form.fields == [
        ("t:formdata", 'a"b'),
        ("plain", "v"),
        ("on", "on"),
        ("s", "1"),
        ("t", "B"),
        ("c", "ligne1\r\nligne2\n"),
    ]
    assert form.buttons == [("submit", "Enregistrer")]
    assert page.errors == ("Premier", "Second & fin", "Erreur lors de l'enregistrement")
    assert page.feedback == ("Mot de passe invalide.",)
    assert page.links == ("/organism/detail/42",)


# -- several organisations, accented names ---------------------------------------------------

ORGS = (("Commune de Plouézec", "212201958"), ("Communauté de Lannion-Trégor", "200065928"))


def _roster(n: int) -> list[Person]:
    """n agents spread over the two organisations, with SIRENs and accented names."""
    out = []
    for person in people(n):
        label, siren = ORGS[person.agent.row % 2]
        agent = replace(person.agent, organisation=label, siren=siren)
        out.append(Person(agent, person.der, person.pem))
    return out


def _rows(persons: list[Person]) -> list[dict[str, str]]:
    return [
        {**p.account_row, "organisation": p.agent.organisation, "siren": p.agent.siren}
        for p in persons
    ]


def _socle(persons: list[Person]) -> SandboxHandle:
    return start_sandbox("socle", accounts=_rows(persons), credentials=SandboxCredentials())


def _app(sandbox: SandboxHandle) -> SocleApp:
    assert isinstance(sandbox.app, SocleApp)
    return sandbox.app


def _socle_connector(url: str, organisations: tuple[str, ...] = ()) -> SocleConnector:
    connector = connect("socle", url, organisations=organisations)
    assert isinstance(connector, SocleConnector)
    return connector


def test_push_over_several_organisations_changes_no_other_field() -> None:
    persons = _roster(8)
    with _socle(persons) as sandbox:
        with sandbox.store.mutate():
            for account in sandbox.store.accounts.values():
                account.extra.update(
                    function="Secrétaire de mairie « adjointe »",
                    elected="true",
                    phone="0298000000",
                    canton="Plœmeur",
                )
        connector = _socle_connector(sandbox.url)
        connector.check()
        connector.use_sirens(siren for _, siren in ORGS)
        listing = connector.listing()
        assert listing.complete and len(listing.accounts) == 8
        assert {a.organisation for a in listing.accounts.values()} == set(
            _app(sandbox).organisations
        )
        before = {k: connector.read_account(a) for k, a in listing.accounts.items()}
        stored = {
            a.id: (a.nom, a.prenom, a.email, dict(a.extra)) for a in sandbox.store.accounts.values()
        }
        run = push([p.item for p in persons], connector, fast_config("socle", workers=4))
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        for key, listed in listing.accounts.items():
            after = connector.read_account(listed)
            assert after.fields == before[key].fields
            assert after.certificate is not None and before[key].certificate is None
        # Byte for byte on the platform's side too, accents included.
        assert {
            a.id: (a.nom, a.prenom, a.email, dict(a.extra)) for a in sandbox.store.accounts.values()
        } == stored
        by_email = {a["email"]: a["sha256"] for a in sandbox.accounts()}
        assert all(by_email[p.agent.email] == p.item.sha256 for p in persons)


def test_one_organisation_listing_misses_the_other_organisations_agents() -> None:
    persons = _roster(6)
    with _socle(persons) as sandbox:
        app = _app(sandbox)
        first = next(iter(app.organisations))
        app.add_organism_admin("dgs@plouezec.bzh", "mdp-dgs", first)
        local = connect(
            "socle",
            sandbox.url,
            env={"CERTSYNC_USER": "dgs@plouezec.bzh", "CERTSYNC_PASSWORD": "mdp-dgs"},
        )
        mine = local.listing()
        assert mine.complete and {a.organisation for a in mine.accounts.values()} == {first}
        assert len(mine.accounts) == 3  # the other organisation's 3 agents are not there
        functional = _socle_connector(sandbox.url)
        assert functional.listing().gaps  # no SIREN: the search has nothing to look for
        functional.use_sirens([ORGS[0][1]])
        assert len(functional.listing().accounts) == 3
        functional.use_sirens(siren for _, siren in ORGS)
        assert len(functional.listing().accounts) == 6


def test_an_organisation_whose_export_fails_is_a_gap_not_an_error() -> None:
    persons = _roster(4)
    with _socle(persons) as sandbox:
        ids = list(_app(sandbox).organisations)
        connector = _socle_connector(sandbox.url, organisations=(*ids, "999"))
        listing = connector.listing()
        assert len(listing.accounts) == 4
        assert listing.gaps == (
            "organisme 999 : redirigé vers l'accueil (organisme inconnu ou droits insuffisants)",
        )
        # The older entry point cannot carry gaps: it refuses rather than hide 999's agents.
        with pytest.raises(PlatformProtocolError) as caught:
            connector.list_accounts()
        assert "incomplète" in caught.value.message and "organisme 999" in caught.value.message


def test_disabled_agent_is_listed_inactive_and_rejected_alone() -> None:
    persons = _roster(4)
    with _socle(persons) as sandbox:
        victim = sandbox.store.by_email(persons[1].agent.email)
        assert victim is not None
        _app(sandbox).disable(victim.id)
        connector = _socle_connector(sandbox.url)
        connector.use_sirens(siren for _, siren in ORGS)
        accounts = connector.listing().accounts
        disabled = accounts[persons[1].agent.email_key]
        assert not disabled.active and disabled.nom == persons[1].agent.nom
        assert all(a.active for k, a in accounts.items() if k != disabled.email_key)
        with pytest.raises(Rejected) as caught:
            connector.read_account(disabled)
        assert "désactivé" in caught.value.message and "Réactivez" in caught.value.message
        run = push([p.item for p in persons], connector, fast_config("socle"))
        statuses = {o.row: o.status for o in run.outcomes}
        assert statuses.pop(persons[1].agent.row) != AgentStatus.PUSHED
        assert set(statuses.values()) == {AgentStatus.PUSHED}
        assert victim.writes == 0


def test_wrong_password_is_exit_77_with_keycloaks_own_message() -> None:
    env = {"CERTSYNC_USER": "admin@megalis.test", "CERTSYNC_PASSWORD": "faux"}
    with start_sandbox("socle", credentials=SandboxCredentials()) as sandbox:
        with pytest.raises(PlatformAuthError) as caught:
            connect("socle", sandbox.url, env=env).check()
        assert caught.value.exit_code == 77
        assert "« Nom d'utilisateur ou mot de passe invalide. »" in caught.value.message
        assert "CERTSYNC_PASSWORD" in caught.value.hint
        with pytest.raises(PlatformAuthError):
            connect("socle", sandbox.url, env={}).check()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"otp": True}, "code à usage unique"),
        ({"required_action": "UPDATE_PASSWORD"}, "Vous devez changer votre mot de passe"),
    ],
)
def test_otp_or_required_action_stops_the_login(options: dict[str, object], expected: str) -> None:
    with start_sandbox("socle", credentials=SandboxCredentials()) as sandbox:
        _app(sandbox).keycloak.add_user("admin@megalis.test", "demo", **options)
        with pytest.raises(PlatformAuthError) as caught:
            connect("socle", sandbox.url).check()
        assert expected in caught.value.message


def test_bearer_token_needs_no_login() -> None:
    persons = _roster(2)
    with _socle(persons) as sandbox:
        connector = connect("socle", sandbox.url, env={"CERTSYNC_TOKEN": "demo-token"})
        connector.check()
        assert isinstance(connector, SocleConnector)
        assert not connector.listing().accounts  # a functional administrator needs SIRENs
        connector.use_sirens(siren for _, siren in ORGS)
        assert len(connector.listing().accounts) == 2
        assert _app(sandbox).keycloak.logins == 0
        assert not any("/auth/" in str(r["path"]) for r in sandbox.sso.requests())  # type: ignore[union-attr]
        with pytest.raises(PlatformAuthError):
            connect("socle", sandbox.url, env={"CERTSYNC_TOKEN": "périmé"}).check()


def test_session_loss_triggers_one_new_login() -> None:
    person = people(1)[0]
    with start_sandbox(
        "socle", accounts=[person.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        app = _app(sandbox)
        connector = connect("socle", sandbox.url)
        connector.check()
        account = next(iter(connector.list_accounts().values()))
        app.sessions.clear()  # the socle's session is gone, the SSO session is not
        assert connector.read_certificate(account) is None
        assert app.keycloak.logins == 1
        app.sessions.clear()
        app.keycloak._sso_sessions.clear()  # both gone: the password is sent again
        assert connector.read_certificate(account) is None
        assert app.keycloak.logins == 2


class _ThirdHost:
    """A loopback server that must never be contacted."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("where", ["form-action", "redirect"])
def test_the_login_never_goes_to_a_third_host(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    third = _ThirdHost()
    try:
        with start_sandbox("socle", credentials=SandboxCredentials()) as sandbox:
            keycloak = _app(sandbox).keycloak
            if where == "form-action":
                monkeypatch.setattr(keycloak, "base_url", third.url)
                monkeypatch.setattr(
                    "certsync.sandbox.socle.adapter.auth_url",
                    lambda base, uri, state: sso_auth_url(sandbox.sso.url, uri, state),  # type: ignore[union-attr]
                )
            else:
                original = keycloak._back
                monkeypatch.setattr(
                    keycloak, "_back", lambda uri, *rest: original(third.url + "/cb", *rest)
                )
            with pytest.raises(PlatformProtocolError) as caught:
                connect("socle", sandbox.url).check()
            assert "hôte" in caught.value.message
            assert third.hits == []
    finally:
        third.close()


def test_create_account_as_the_create_page_does() -> None:
    persons = _roster(3)
    with _socle(persons[:2]) as sandbox:
        connector = _socle_connector(sandbox.url)
        connector.use_sirens(siren for _, siren in ORGS)
        assert persons[2].agent.email_key not in connector.listing().accounts
        created = connector.create_account(persons[2].agent, to_pem(persons[2].der))
        stored = sandbox.store.accounts[created.id]
        assert (stored.email, stored.nom, stored.prenom) == (
            persons[2].agent.email,
            persons[2].agent.nom,
            persons[2].agent.prenom,
        )
        org = _app(sandbox).organisations[stored.extra["organism"]]
        assert (
            org["siren"] == persons[2].agent.siren
            and created.organisation == stored.extra["organism"]
        )
        posts = [r["path"] for r in sandbox.requests() if r["method"] == "POST"]
        assert posts[-1] == "/organism/agent/create.agent_form.modification_form"
        assert connector.read_certificate(created) == to_pem(persons[2].der)
        with pytest.raises(Rejected) as caught:
            connector.create_account(persons[2].agent)
        assert "déjà utilisée comme identifiant" in caught.value.message
        assert len(sandbox.store.accounts) == 3
        stranger = replace(persons[2].agent, email="x@ailleurs.bzh", siren="130025265")
        with pytest.raises(Rejected) as caught:
            connector.create_account(stranger)
        assert "SIREN « 130025265 »" in caught.value.message
        assert len(sandbox.store.accounts) == 3


def test_survey_names_identity_organisations_and_edit_right() -> None:
    persons = _roster(4)
    with _socle(persons) as sandbox:
        connector = _socle_connector(sandbox.url)
        connector.use_sirens(siren for _, siren in ORGS)
        survey = connector.survey()
        assert survey.identity == "admin@megalis.test (administrateur fonctionnel)"
        assert survey.can_edit
        assert sorted((o.label, o.accounts) for o in survey.organisations) == sorted(
            (label, 2) for label, _ in ORGS
        )


def test_login_form_with_an_absolute_action_on_the_sso_host() -> None:
    """Issue 11, point 11: Keycloak's form posts to an absolute URL; that used to exit 70."""
    with start_sandbox("socle", credentials=SandboxCredentials()) as sandbox:
        assert sandbox.sso is not None
        page = requests.get(f"{sandbox.url}/", timeout=5)
        form = parse_page(page.text).form("kc-form-login")
        assert form is not None
        assert form.action.startswith(
            f"{sandbox.sso.url}/auth/realms/megalis/login-actions/authenticate?session_code="
        )
        connect("socle", sandbox.url).check()
        posts = [r["path"] for r in sandbox.sso.requests() if r["method"] == "POST"]
        assert posts == ["/auth/realms/megalis/login-actions/authenticate"]
        assert _app(sandbox).keycloak.logins == 1


def test_a_state_cookie_replaced_by_another_worker_costs_one_more_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    persons = _roster(2)
    with _socle(persons) as sandbox:
        connector = _socle_connector(sandbox.url)
        http = connector._http
        original = http.request
        raced: list[int] = []

        def racing(method: str, path: str, **kwargs: Any) -> requests.Response:
            answer = original(method, path, **kwargs)
            if method == "POST" and "login-actions" in path and not raced:
                # Another worker, logged out too, is redirected: a new state cookie lands.
                raced.append(original("GET", "/organism/search").status_code)
            return answer

        monkeypatch.setattr(http, "request", racing)
        connector.check()
        assert raced == [302]
        assert _app(sandbox).keycloak.logins == 1  # the second pass used the SSO session
