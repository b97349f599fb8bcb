"""The socle sandbox refuses what the real socle refuses: a client doing the wrong thing fails."""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from certsync.connectors.htmlform import Form, parse_page
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials
from certsync.sandbox.socle import EXPORT_HEADER, FORMDATA_ERROR, SocleApp

ROWS = [
    {
        "email": "helene.lebihan@plouezec.bzh",
        "nom": "Le Bihan",
        "prenom": "Hélène",
        "organisation": "Commune de Plouézec",
        "siren": "212201958",
    },
    {
        "email": "yann.kergoat@lannion-tregor.bzh",
        "nom": "Kergoat",
        "prenom": "Yann",
        "organisation": "Lannion-Trégor Communauté",
        "siren": "200065928",
    },
]


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with start_sandbox("socle", accounts=ROWS, credentials=SandboxCredentials()) as handle:
        yield handle


def _app(sandbox: SandboxHandle) -> SocleApp:
    assert isinstance(sandbox.app, SocleApp)
    return sandbox.app


def _browser(sandbox: SandboxHandle) -> requests.Session:
    """A logged-in browser (requests follows every redirect, as a browser does)."""
    session = requests.Session()
    page = session.get(f"{sandbox.url}/", timeout=5)
    form = parse_page(page.text).form("kc-form-login")
    assert form is not None
    answer = session.post(
        form.action, data={"username": DEMO_USER, "password": DEMO_PASSWORD}, timeout=5
    )
    assert answer.url.startswith(sandbox.url) and answer.status_code == 200
    return session


def _form(session: requests.Session, url: str, form_id: str) -> Form:
    form = parse_page(session.get(url, timeout=5).text).form(form_id)
    assert form is not None
    return form


def test_unauthenticated_request_goes_to_the_sso_on_another_origin(sandbox: SandboxHandle) -> None:
    answer = requests.get(
        f"{sandbox.url}/organism/agent/modify/1001", allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert sandbox.sso is not None and location.startswith(sandbox.sso.url)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["client_id"] == ["myec3"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{sandbox.url}/organism/agent/modify/1001"]
    assert "OAuth_Token_Request_State" in answer.headers["Set-Cookie"]
    # The login page posts to an absolute URL on the SSO, with Keycloak's parameters.
    form = parse_page(requests.get(location, timeout=5).text).form("kc-form-login")
    assert form is not None and form.action.startswith(sandbox.sso.url)
    assert {"session_code", "execution", "tab_id"} <= set(
        urllib.parse.parse_qs(urllib.parse.urlsplit(form.action).query)
    )


def test_a_code_without_the_state_cookie_is_refused(sandbox: SandboxHandle) -> None:
    answer = requests.get(f"{sandbox.url}/?state=1/x&code=abc", allow_redirects=False, timeout=5)
    assert answer.status_code == 400


def test_login_lands_on_the_page_first_asked_with_a_session(sandbox: SandboxHandle) -> None:
    session = requests.Session()
    page = session.get(f"{sandbox.url}/organism/search", timeout=5)
    form = parse_page(page.text).form("kc-form-login")
    assert form is not None
    wrong = session.post(form.action, data={"username": DEMO_USER, "password": "x"}, timeout=5)
    assert "Nom d&#x27;utilisateur ou mot de passe invalide." in wrong.text
    form = parse_page(wrong.text).form("kc-form-login")
    assert form is not None
    answer = session.post(
        form.action, data={"username": DEMO_USER, "password": DEMO_PASSWORD}, timeout=5
    )
    assert answer.url == f"{sandbox.url}/organism/search"
    assert parse_page(answer.text).form("organism_search_form") is not None
    assert "JSESSIONID" in session.cookies


def test_form_without_formdata_is_refused_like_tapestry(sandbox: SandboxHandle) -> None:
    browser = _browser(sandbox)
    form = _form(browser, f"{sandbox.url}/organism/agent/modify/1001", "modification_form")
    fields = [(n, v) for n, v in form.fields if n != "t:formdata"]
    answer = browser.post(
        f"{sandbox.url}{form.action}",
        data=[*fields, ("submit_0", "x")],
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 500 and FORMDATA_ERROR in answer.text
    forged = [(n, "0:e30=" if n == "t:formdata" else v) for n, v in form.fields]
    answer = browser.post(
        f"{sandbox.url}{form.action}",
        data=[*forged, ("submit_0", "x")],
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 500
    assert sandbox.accounts()[0]["writes"] == 0


def test_a_field_left_out_of_the_post_is_erased(sandbox: SandboxHandle) -> None:
    with sandbox.store.mutate():
        sandbox.store.accounts["1001"].extra["function"] = "Secrétaire de mairie"
    browser = _browser(sandbox)
    form = _form(browser, f"{sandbox.url}/organism/agent/modify/1001", "modification_form")
    partial = [(n, v) for n, v in form.fields if n != "function"]
    answer = browser.post(
        f"{sandbox.url}{form.action}",
        data=[*partial, ("submit_0", "x")],
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/organism/agent/view/1001"
    assert sandbox.store.accounts["1001"].extra["function"] == ""
    # A required field left out: re-rendered with 200 and Tapestry's alert, nothing stored.
    form = _form(browser, f"{sandbox.url}/organism/agent/modify/1001", "modification_form")
    partial = [(n, v) for n, v in form.fields if n != "lastname"]
    answer = browser.post(
        f"{sandbox.url}{form.action}",
        data=[*partial, ("submit_0", "x")],
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 200
    assert parse_page(answer.text).errors == ("Le champ 'Nom' est obligatoire",)
    assert sandbox.store.accounts["1001"].nom == "Le Bihan"


def test_the_save_button_is_rendered_submit_0(sandbox: SandboxHandle) -> None:
    browser = _browser(sandbox)
    form = _form(browser, f"{sandbox.url}/organism/agent/modify/1001", "modification_form")
    assert [name for name, _ in form.buttons] == ["checkCertificate", "submit_0"]
    assert form.action == "/organism/agent/modify.agent_form.modification_form"
    assert form.get("t:ac") == "1001"


def test_export_is_per_organism_and_only_on_submit(sandbox: SandboxHandle) -> None:
    browser = _browser(sandbox)
    assert (
        browser.get(
            f"{sandbox.url}/organism/agent/export/export", allow_redirects=False, timeout=5
        ).headers["Location"]
        == "/"
    )
    orgs = _app(sandbox).organisations
    csvs = []
    for org_id in orgs:
        page = browser.get(f"{sandbox.url}/organism/agent/export/export/{org_id}", timeout=5)
        assert "text/html" in page.headers["Content-Type"]  # the page, not the file
        form = parse_page(page.text).form("agent_export_form")
        assert form is not None
        answer = browser.post(
            f"{sandbox.url}{form.action}", data=[*form.fields, *form.buttons], timeout=5
        )
        assert answer.headers["Content-Type"] == "text/csv"
        assert answer.content.startswith("\ufeff".encode())
        lines = answer.content.decode("utf-8-sig").splitlines()
        assert lines[0] == ";".join(f'"{h}"' for h in EXPORT_HEADER)
        csvs.append(lines[1:])
    assert [len(rows) for rows in csvs] == [1, 1]
    assert "Hélène" in csvs[0][0] and "Kergoat" in csvs[1][0]


def test_unknown_path_renders_index_with_200(sandbox: SandboxHandle) -> None:
    answer = _browser(sandbox).get(f"{sandbox.url}/organism/agent/exportt/42", timeout=5)
    assert answer.status_code == 200 and "Rechercher un organisme" in answer.text


def test_disabled_agent_is_exported_but_its_modify_page_redirects(sandbox: SandboxHandle) -> None:
    _app(sandbox).disable("1001")
    browser = _browser(sandbox)
    answer = browser.get(
        f"{sandbox.url}/organism/agent/modify/1001", allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/organism/agent/view/1001"
    org = sandbox.store.accounts["1001"].extra["organism"]
    form = _form(browser, f"{sandbox.url}/organism/agent/export/export/{org}", "agent_export_form")
    text = browser.post(
        f"{sandbox.url}{form.action}", data=[*form.fields, *form.buttons], timeout=5
    ).content.decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(text), delimiter=";")
    assert row["user_lastname"] == "Le Bihan (désactivé)" and row["profil_enabled"] == "true"


def test_organism_search_by_siren_for_a_functional_admin(sandbox: SandboxHandle) -> None:
    browser = _browser(sandbox)
    form = _form(browser, f"{sandbox.url}/organism/search", "organism_search_form")
    values = [(n, "200065928" if n == "siren" else v) for n, v in form.fields]
    answer = browser.post(f"{sandbox.url}{form.action}", data=[*values, *form.buttons], timeout=5)
    assert answer.url == f"{sandbox.url}/organism/searchresult"
    links = [link for link in parse_page(answer.text).links if "/organism/detail/" in link]
    assert len(links) == 1
    empty = browser.post(
        f"{sandbox.url}{form.action}", data=[*form.fields, *form.buttons], timeout=5
    )
    assert "au moins un critère" in empty.text


def test_create_redirects_to_the_roles_page(sandbox: SandboxHandle) -> None:
    browser = _browser(sandbox)
    org_id, org = next(iter(_app(sandbox).organisations.items()))
    url = f"{sandbox.url}/organism/agent/create/{org_id}/{org['root']}"
    form = _form(browser, url, "modification_form")
    assert form.get("t:ac") == f"{org_id}/{org['root']}"
    new = {"firstname": "Maëlle", "lastname": "Tanguy", "email": "maelle.tanguy@plouezec.bzh"}
    values = [(n, new.get(n, v)) for n, v in form.fields]
    answer = browser.post(
        f"{sandbox.url}{form.action}",
        data=[*values, ("submit_0", "x")],
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    created = sandbox.store.by_email("maelle.tanguy@plouezec.bzh")
    assert created is not None and created.prenom == "Maëlle"
    assert answer.headers["Location"] == f"/organism/agent/modifyroles/{created.id}"


def test_organisations_come_from_the_rosters_columns_and_the_sso_stops_too(
    tmp_path: Path,
) -> None:
    roster = tmp_path / "agents.csv"
    roster.write_text(
        "Nom;Prénom;Courriel;Collectivité;SIREN\n"
        "Riou;Loïc;loic.riou@plouezec.bzh;Commune de Plouézec;212201958\n"
        "Caër;Gwenaël;gwenael.caer@lannion-tregor.bzh;Lannion-Trégor Communauté;200065928\n"
        "Morvan;Erwan;erwan.morvan@plouezec.bzh;Commune de Plouézec;212201958\n",
        encoding="utf-8",
    )
    sandbox = start_sandbox("socle", accounts=roster, credentials=SandboxCredentials())
    try:
        orgs = _app(sandbox).organisations
        assert sorted((o["label"], o["siren"]) for o in orgs.values()) == [
            ("Commune de Plouézec", "212201958"),
            ("Lannion-Trégor Communauté", "200065928"),
        ]
        by_org = {
            o: sorted(a.email for a in sandbox.store.accounts.values() if a.extra["organism"] == o)
            for o in orgs
        }
        assert sorted(len(v) for v in by_org.values()) == [1, 2]
        assert sandbox.sso is not None and sandbox.sso.port != sandbox.port
        sso_url = sandbox.sso.url
    finally:
        sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(sso_url, timeout=2)


def test_check_certificate_leaves_session_state_that_hijacks_another_save(
    sandbox: SandboxHandle,
) -> None:
    """Why the connector never presses "Vérifier le certificat" while workers share a session."""
    browser = _browser(sandbox)
    first = _form(browser, f"{sandbox.url}/organism/agent/modify/1001", "modification_form")
    second = _form(browser, f"{sandbox.url}/organism/agent/modify/1002", "modification_form")
    checked = browser.post(
        f"{sandbox.url}{first.action}",
        data=[*first.fields, ("checkCertificate", "Vérifier le certificat")],
        allow_redirects=False,
        timeout=5,
    )
    assert checked.status_code == 302
    # Another worker saves agent 1002 before the first one comes back to its form.
    saved = browser.post(
        f"{sandbox.url}{second.action}",
        data=[*second.fields, ("submit_0", "Enregistrer")],
        allow_redirects=False,
        timeout=5,
    )
    assert saved.headers["Location"] == "/organism/agent/view/1001"
    hijacked = sandbox.store.accounts["1001"]
    assert (hijacked.prenom, hijacked.email) == ("Yann", "yann.kergoat@lannion-tregor.bzh")
