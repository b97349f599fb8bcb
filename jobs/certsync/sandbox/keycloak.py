"""Stand-in for the Keycloak SSO in front of the socle: the browser login flow of realm `megalis`.

Written from Keycloak's own sources (see docs/platforms/socle.md): the authorization endpoint
renders `login.ftl` (form `kc-form-login`, absolute action on the SSO host carrying
`session_code`, `execution`, `client_id` and `tab_id`, fields `username`/`password`, button
`login`); a wrong password re-renders it with `invalidUserMessage` in `template.ftl`'s
`kc-feedback-text`; success redirects to `redirect_uri` with `state`, `session_state` and
`code`. The code is exchanged by the socle over the back channel (in process here), as the
Keycloak adapter's `ServerRequest.invokeAccessCodeToToken` does.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass

from certsync.sandbox.server import Request, Response

REALM = "megalis"
CLIENT_ID = "myec3"
AUTH_PATH = f"/auth/realms/{REALM}/protocol/openid-connect/auth"
LOGIN_ACTION_PATH = f"/auth/realms/{REALM}/login-actions/authenticate"
REQUIRED_ACTION_PATH = f"/auth/realms/{REALM}/login-actions/required-action"
COOKIE_PATH = f"/auth/realms/{REALM}/"
#: messages_fr.properties (Keycloak login theme), after MessageFormat turns '' into '.
INVALID_USER = "Nom d'utilisateur ou mot de passe invalide."
UPDATE_PASSWORD = "Vous devez changer votre mot de passe pour activer votre compte."
COOKIE_NOT_FOUND = (
    "Cookie introuvable. Assurez-vous que les cookies sont activés dans votre navigateur."
)
CODE_LIFETIME = 60.0
"""Seconds a code stays valid (Keycloak's default access code lifespan is one minute)."""


@dataclass(slots=True)
class SsoUser:
    """One realm user: password, and a required action or OTP that stops a scripted login."""

    password: str
    otp: bool = False
    required_action: str = ""
    """"UPDATE_PASSWORD" makes the login end on `login-update-password.ftl`."""


@dataclass(slots=True)
class _AuthSession:
    redirect_uri: str
    state: str
    session_code: str
    execution: str


class KeycloakApp:
    """The SSO's login pages, codes, access tokens and SSO sessions."""

    retry_after_header = "Retry-After"

    def __init__(self) -> None:
        self.base_url = ""
        """Set once the server listens (the login action is an absolute URL on this host)."""
        self.users: dict[str, SsoUser] = {}
        self.tokens: dict[str, str] = {}
        """Valid access tokens → username (what a Bearer header may carry)."""
        self._codes: dict[str, tuple[str, str, float]] = {}
        self._auth_sessions: dict[str, dict[str, _AuthSession]] = {}
        self._sso_sessions: dict[str, str] = {}
        self._lock = threading.Lock()
        self.logins = 0
        """Successful password logins (tests count them)."""

    def add_user(self, username: str, password: str, **options: object) -> None:
        """Create a realm user (`otp=True`, `required_action="UPDATE_PASSWORD"` are accepted)."""
        self.users[username] = SsoUser(password, **options)  # type: ignore[arg-type]

    # -- back channel, used in process by the socle ------------------------------------------

    def exchange_code(self, code: str, redirect_uri: str) -> str | None:
        """The username a code was issued to (once, unexpired, same redirect_uri), else None."""
        with self._lock:
            entry = self._codes.pop(code, None)
        if entry is None:
            return None
        username, expected_uri, expires = entry
        if expected_uri != redirect_uri or time.monotonic() > expires:
            return None
        return username

    def token_user(self, token: str) -> str | None:
        """Who a Bearer access token belongs to, or None."""
        with self._lock:
            return self.tokens.get(token)

    # -- front channel ----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route one request."""
        if request.path == AUTH_PATH and request.method == "GET":
            return self._authorize(request)
        if request.path == LOGIN_ACTION_PATH and request.method == "POST":
            return self._authenticate(request)
        if request.path == REQUIRED_ACTION_PATH:
            return self._page("Mise à jour du mot de passe", "", UPDATE_PASSWORD, status=200)
        return Response(404, b"<html><body>Page not found</body></html>", "text/html")

    def _authorize(self, request: Request) -> Response:
        if request.arg("client_id") != CLIENT_ID or request.arg("response_type") != "code":
            return self._page("Erreur", "", "Requête invalide", status=400)
        redirect_uri, state = request.arg("redirect_uri"), request.arg("state")
        cookies = _cookies(request)
        with self._lock:
            user = self._sso_sessions.get(cookies.get("KEYCLOAK_SESSION", ""))
        if user is not None:
            # An SSO session already exists: no login page, straight back with a code.
            return self._back(redirect_uri, state, user, cookies["KEYCLOAK_SESSION"])
        auth_id = cookies.get("AUTH_SESSION_ID") or secrets.token_hex(12)
        tab = secrets.token_urlsafe(8)
        session = _AuthSession(redirect_uri, state, secrets.token_urlsafe(16), secrets.token_hex(8))
        with self._lock:
            self._auth_sessions.setdefault(auth_id, {})[tab] = session
        response = self._login_page(tab, session, "")
        response.headers.append(
            ("Set-Cookie", f"AUTH_SESSION_ID={auth_id}; Path={COOKIE_PATH}; HttpOnly")
        )
        return response

    def _authenticate(self, request: Request) -> Response:
        auth_id = _cookies(request).get("AUTH_SESSION_ID", "")
        tab = request.arg("tab_id")
        with self._lock:
            session = self._auth_sessions.get(auth_id, {}).get(tab)
        if session is None:
            # LoginActionsService: no authentication session for this browser.
            return self._page("Erreur", "", COOKIE_NOT_FOUND, status=400)
        if request.arg("session_code") != session.session_code:
            return self._page(
                "La page a expiré", "", "Action expirée. Merci de continuer la connexion."
            )
        fields = dict(urllib.parse.parse_qsl(request.body.decode("utf-8", "replace")))
        username, password = fields.get("username", ""), fields.get("password", "")
        user = self.users.get(username)
        if user is None or not password or user.password != password:
            session.session_code = secrets.token_urlsafe(16)
            return self._login_page(tab, session, INVALID_USER, username)
        if user.otp:
            return self._page(
                "Se connecter à Mégalis",
                '<form id="kc-otp-login-form" method="post" action="'
                f'{html.escape(self._action(tab, session), quote=True)}">'
                '<label for="otp">Code à usage unique</label>'
                '<input id="otp" name="otp" type="text" autocomplete="off">'
                '<input name="login" id="kc-login" type="submit" value="Connexion"></form>',
                "",
            )
        if user.required_action == "UPDATE_PASSWORD":
            return self._page(
                "Mise à jour du mot de passe",
                '<form id="kc-passwd-update-form" method="post" action="'
                f'{self.base_url}{REQUIRED_ACTION_PATH}">'
                '<input type="password" id="password-new" name="password-new">'
                '<input type="password" id="password-confirm" name="password-confirm">'
                '<input type="submit" value="Soumettre"></form>',
                UPDATE_PASSWORD,
                kind="warning",
            )
        sso = secrets.token_hex(16)
        with self._lock:
            self._sso_sessions[sso] = username
            self._auth_sessions.get(auth_id, {}).pop(tab, None)
            self.logins += 1
        return self._back(session.redirect_uri, session.state, username, sso)

    def _back(self, redirect_uri: str, state: str, username: str, sso: str) -> Response:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = (username, redirect_uri, time.monotonic() + CODE_LIFETIME)
        query = urllib.parse.urlencode({"state": state, "session_state": sso[:12], "code": code})
        glue = "&" if "?" in redirect_uri else "?"
        headers = [
            ("Location", f"{redirect_uri}{glue}{query}"),
            ("Set-Cookie", f"KEYCLOAK_SESSION={sso}; Path={COOKIE_PATH}"),
        ]
        return Response(302, b"", headers=headers)

    def _action(self, tab: str, session: _AuthSession) -> str:
        query = urllib.parse.urlencode(
            {
                "session_code": session.session_code,
                "execution": session.execution,
                "client_id": CLIENT_ID,
                "tab_id": tab,
            }
        )
        return f"{self.base_url}{LOGIN_ACTION_PATH}?{query}"

    def _login_page(
        self, tab: str, session: _AuthSession, message: str, username: str = ""
    ) -> Response:
        action = html.escape(self._action(tab, session), quote=True)
        form = (
            f'<form id="kc-form-login" onsubmit="login.disabled = true; return true;" '
            f'action="{action}" method="post">'
            '<label for="username">Nom d&#39;utilisateur ou courriel</label>'
            f'<input tabindex="1" id="username" name="username" '
            f'value="{html.escape(username, quote=True)}" type="text" autofocus '
            'autocomplete="off" /><label for="password">Mot de passe</label>'
            '<input tabindex="2" id="password" name="password" type="password" '
            'autocomplete="off" />'
            '<input type="hidden" id="id-hidden-input" name="credentialId"/>'
            '<input tabindex="4" name="login" id="kc-login" type="submit" value="Connexion"/>'
            "</form>"
        )
        return self._page("Se connecter à Mégalis", form, message)

    @staticmethod
    def _page(
        title: str, body: str, message: str, *, status: int = 200, kind: str = "error"
    ) -> Response:
        feedback = ""
        if message:
            feedback = (
                f'<div class="alert alert-{kind}"><span class="pficon pficon-error-circle-o">'
                f'</span><span class="kc-feedback-text">{html.escape(message)}</span></div>'
            )
        text = (
            '<!DOCTYPE html><html class="login-pf"><head><meta charset="utf-8">'
            f'<title>{html.escape(title)}</title></head><body><div id="kc-content">'
            f"{feedback}{body}</div></body></html>"
        )
        return Response(status, text.encode(), "text/html;charset=utf-8")


def _cookies(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in re.findall(r"([\w.-]+)=([^;]*)", request.headers.get("cookie", "")):
        out.setdefault(name, value)
    return out


def auth_url(base_url: str, redirect_uri: str, state: str) -> str:
    """The authorization URL the Keycloak adapter redirects to (`getRedirectUri`)."""
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "login": "true",
        }
    )
    return f"{base_url}{AUTH_PATH}?{query}"
