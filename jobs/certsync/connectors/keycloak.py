"""Log in to a Keycloak-protected web application the way a browser does, and nothing more.

The application (the socle, behind the Keycloak servlet adapter) answers an unauthenticated
request with a 302 to the SSO's authorization endpoint; the SSO renders `kc-form-login` whose
action is an absolute URL on the SSO host; a right password is answered with a 302 back to the
application with `code` and `state`, which sets its session cookie and redirects to the page
first asked. Redirects are followed only between these two origins, so a login never carries
the password, or a session cookie, to a third host. Cookies stay per host in the shared jar.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import requests

from certsync.connectors.credentials import Credentials
from certsync.connectors.htmlform import Form, parse_page
from certsync.connectors.http import HttpClient, protocol_error
from certsync.errors import PlatformAuthError

LOGIN_FORM = "kc-form-login"
MAX_HOPS = 10
AUTH_MARK = "/protocol/openid-connect/auth"
#: Forms Keycloak shows when a password alone does not finish the login.
_NEXT_STEPS = {
    "kc-otp-login-form": "un code à usage unique (OTP) est demandé",
    "kc-totp-settings-form": "la configuration d'un code à usage unique est demandée",
    "kc-passwd-update-form": "un changement de mot de passe est demandé",
    "kc-update-profile-form": "une mise à jour du profil est demandée",
    "kc-update-email-form": "une mise à jour de l'adresse e-mail est demandée",
    "kc-terms-text": "l'acceptation des conditions d'utilisation est demandée",
}
HINT = (
    "Connectez-vous une fois au socle avec ce compte dans un navigateur et terminez ce que "
    "Mégalis demande ; vérifiez CERTSYNC_USER et CERTSYNC_PASSWORD (ou user_file et "
    "password_file). Il faut un compte administrateur sans double authentification, ou un "
    "jeton d'accès dans CERTSYNC_TOKEN."
)


def origin(url: str) -> str:
    """scheme://host:port of a URL, lower-cased, default ports made explicit."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


@dataclass(slots=True)
class BrowserLogin:
    """The adapter's login dance between one application origin and one SSO origin."""

    http: HttpClient
    platform: str
    credentials: Credentials
    sso_origin: str = ""
    """Learnt from the application's first redirect to an authorization endpoint."""

    @property
    def app_origin(self) -> str:
        """The application's origin (the configured URL)."""
        return origin(self.http.base_url)

    def is_login_redirect(self, response: requests.Response) -> bool:
        """A 302/303 from the application towards the SSO: the session is missing or over."""
        if response.status_code not in {301, 302, 303, 307}:
            return False
        target = urllib.parse.urljoin(response.url or self.http.base_url, _location(response))
        return origin(target) != self.app_origin and AUTH_MARK in target

    def login(self, start: str = "/") -> requests.Response:
        """Log in through the SSO starting from `start`; returns the application's page.

        Workers share one cookie jar: while one logs in, another's request may be redirected
        too and replace the adapter's state cookie, so the callback is refused (400,
        `checkStateCookie`). One more pass then succeeds through the SSO session just opened.
        """
        try:
            return self._login(start)
        except _StateRefused:
            try:
                return self._login(start)
            except _StateRefused:
                raise protocol_error(
                    self.platform, "connexion : le retour du SSO est refusé (HTTP 400)"
                ) from None

    def _login(self, start: str) -> requests.Response:
        response = self.http.request("GET", start)
        url = self.http.base_url + start
        filled = False
        for _ in range(MAX_HOPS):
            if response.status_code in {301, 302, 303, 307}:
                url = self._next(url, response)
                response = self.http.request("GET", url)
                continue
            if origin(url) == self.app_origin:
                if response.status_code == 200:
                    return response
                if response.status_code == 400 and "code=" in url:
                    raise _StateRefused
                raise protocol_error(
                    self.platform, f"connexion : HTTP {response.status_code} sur {start}"
                )
            page = parse_page(response.text) if response.status_code == 200 else None
            form = page.form(LOGIN_FORM) if page is not None else None
            if page is None or (form is None or filled):
                raise self._refused(response, filled)
            action = urllib.parse.urljoin(url, form.action)
            if origin(action) != self.sso_origin:
                raise protocol_error(
                    self.platform,
                    f"le formulaire de connexion envoie vers un hôte inattendu ({origin(action)})",
                )
            response = self.http.request("POST", action, data=self._filled(form))
            url, filled = action, True
        raise protocol_error(self.platform, "connexion : trop de redirections")

    def _next(self, url: str, response: requests.Response) -> str:
        target = urllib.parse.urljoin(url, _location(response))
        where = origin(target)
        if not self.sso_origin and origin(url) == self.app_origin and AUTH_MARK in target:
            if where == self.app_origin:
                raise protocol_error(self.platform, "l'authentification n'est pas déléguée au SSO")
            self.sso_origin = where
        if where not in {self.app_origin, self.sso_origin}:
            raise protocol_error(
                self.platform,
                f"redirection vers un hôte qui n'est ni la plateforme ni son SSO ({where})",
            )
        return target

    def _filled(self, form: Form) -> list[tuple[str, str]]:
        fields = [(n, v) for n, v in form.fields if n not in {"username", "password"}]
        fields += [("username", self.credentials.user), ("password", self.credentials.password)]
        # The button Keycloak renders (name="login") is the one a browser sends.
        fields += form.buttons[:1]
        return fields

    def _refused(self, response: requests.Response, filled: bool) -> Exception:
        if response.status_code != 200:
            page = parse_page(response.text)
            text = page.feedback[0] if page.feedback else f"HTTP {response.status_code}"
            return protocol_error(self.platform, f"page du SSO inattendue ({text})")
        page = parse_page(response.text)
        step = next((why for form_id, why in _NEXT_STEPS.items() if page.form(form_id)), "")
        message = page.feedback[0] if page.feedback else ""
        if not filled and not step:
            return protocol_error(self.platform, "pas de formulaire de connexion sur le SSO")
        said = f" : « {message} »" if message else ""
        why = f" ({step})" if step else ""
        return PlatformAuthError(f"Le SSO de Mégalis refuse la connexion{said}{why}.", hint=HINT)


class _StateRefused(Exception):
    """The application refused the SSO's callback (state cookie replaced meanwhile)."""


def _location(response: requests.Response) -> str:
    return response.headers.get("Location", "")
