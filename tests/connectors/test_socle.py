"""The socle: the form's regex and messages, fields carried over, session renewal, HTML parsing."""

from __future__ import annotations

import pytest
import requests

from certsync.connectors.htmlform import parse_page
from certsync.connectors.interface import Rejected
from certsync.connectors.pem import SOCLE_CERTIFICATE_RE, der_of_text, sha256_of_text, to_pem
from certsync.push import push
from certsync.records import AgentStatus
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import SandboxCredentials
from certsync.sandbox.socle import EXPORT_HEADER, REGEX_MESSAGE
from tests.connectors.kit import connect, fast_config, people


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


def test_every_other_field_is_carried_over() -> None:
    persons = people(2)
    with start_sandbox(
        "socle", accounts=[p.account_row for p in persons], credentials=SandboxCredentials()
    ) as sandbox:
        with sandbox.store.mutate():
            for account in sandbox.store.accounts.values():
                account.extra.update(
                    civility="MRS",
                    function="Secrétaire de mairie",
                    elected="on",
                    phone="0298000000",
                    city="Plouha & Co",
                )
        before = {
            a.id: (a.nom, a.prenom, a.email, {k: v for k, v in a.extra.items() if v})
            for a in sandbox.store.accounts.values()
        }
        run = push([p.item for p in persons], connect("socle", sandbox.url), fast_config("socle"))
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        # The save fills every form field; fields that were unset come back as ''.
        after = {
            a.id: (a.nom, a.prenom, a.email, {k: v for k, v in a.extra.items() if v})
            for a in sandbox.store.accounts.values()
        }
        assert after == before


def test_session_loss_triggers_one_new_login() -> None:
    person = people(1)[0]
    with start_sandbox(
        "socle", accounts=[person.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        connector = connect("socle", sandbox.url)
        connector.check()
        account = next(iter(connector.list_accounts().values()))
        sandbox.app.sessions.clear()  # type: ignore[attr-defined]
        assert connector.read_certificate(account) is None
        logins = [r for r in sandbox.requests() if r["path"] == "/login-actions/authenticate"]
        assert len(logins) == 2


def test_form_without_formdata_is_refused_like_tapestry() -> None:
    person = people(1)[0]
    with start_sandbox(
        "socle", accounts=[person.account_row], credentials=SandboxCredentials()
    ) as sandbox:
        session = requests.Session()
        session.post(
            f"{sandbox.url}/login-actions/authenticate",
            data={"username": "admin@megalis.test", "password": "demo"},
            timeout=5,
        )
        answer = session.post(
            f"{sandbox.url}/organism/agent/modify/1001",
            data={"certificate": to_pem(person.der), "submit": "Enregistrer"},
            allow_redirects=False,
            timeout=5,
        )
        assert answer.status_code == 500 and "t:formdata" in answer.text
        export = session.get(f"{sandbox.url}/organism/agent/export", timeout=5)
        assert export.content.startswith("\ufeff".encode())
        first = export.content.decode("utf-8-sig").splitlines()[0]
        assert first == ";".join(f'"{h}"' for h in EXPORT_HEADER)


def test_html_form_parsing_follows_browser_rules() -> None:
    page = parse_page(
        '<div class="alert alert-danger"><ul><li>Premier</li><li>Second &amp; fin</li></ul></div>'
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
    assert page.errors == ("Premier", "Second & fin")


def test_wrong_password_message_names_the_cause() -> None:
    from certsync.errors import PlatformAuthError

    env = {"CERTSYNC_USER": "admin@megalis.test", "CERTSYNC_PASSWORD": "faux"}
    with start_sandbox("socle", credentials=SandboxCredentials()) as sandbox:
        with pytest.raises(PlatformAuthError) as caught:
            connect("socle", sandbox.url, env=env).check()
        assert "mot de passe invalide" in caught.value.message
        assert "CERTSYNC_PASSWORD" in caught.value.hint
        with pytest.raises(PlatformAuthError):
            connect("socle", sandbox.url, env={}).check()
