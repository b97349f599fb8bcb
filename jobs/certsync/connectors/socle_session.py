"""The socle's shared admin session: login, requests that survive an SSO expiry, form posts."""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

import requests

from certsync.config import PlatformConfig
from certsync.connectors.credentials import Credentials
from certsync.connectors.htmlform import Form, Page, parse_page
from certsync.connectors.http import HttpClient, RetryPolicy, client_for, protocol_error
from certsync.connectors.interface import Account
from certsync.connectors.keycloak import BrowserLogin
from certsync.errors import PlatformAuthError

#: Columns of export_agent.csv we rely on (ExportAgentCSVGeneratorServiceImpl.generateHeader).
EXPORT_REQUIRED = ("profil_id", "profil_email", "user_firstname", "user_lastname")
DISABLED_SUFFIX = " (désactivé)"
"""ListAgents.disableAgentProfile appends it to the user's last name."""
EXPORT_PAGE = "/organism/agent/export/export/{org}"
LIST_PAGE = "/organism/agent/listagents/{org}"
MODIFY_PAGE = "/organism/agent/modify/{id}"
CREATE_PAGE = "/organism/agent/create/{org}/{dept}"
SEARCH_PAGE = "/organism/search"
AGENT_FORM = "modification_form"
EXPORT_FORM = "agent_export_form"
SEARCH_FORM = "organism_search_form"
SAVE_BUTTON = "submit_0"
"""Tapestry reserves `submit`: the Submit component t:id="submit" is rendered as submit_0."""
#: Hidden fields of Tapestry's Form: page state, not account data.
TECHNICAL_FIELDS = frozenset({"t:formdata", "t:ac", "t:cp", "t:submit"})
NAME = "socle"
REDIRECTS = frozenset({301, 302, 303, 307})


@dataclass(frozen=True, slots=True)
class Organisation:
    """One organism this account may manage."""

    id: str
    label: str = ""
    siren: str = ""


class Gap(Exception):
    """One organisation could not be listed; the French reason goes into the listing."""


class SocleSession:
    """One socle login shared by all workers, and the page and form requests made through it."""

    def __init__(
        self,
        config: PlatformConfig,
        url: str,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
        sirens: Iterable[str] = (),
    ) -> None:
        self.url = url.rstrip("/")
        self._credentials = credentials
        self._bearer = bool(credentials.token) and not credentials.has_login
        headers = {"Authorization": f"Bearer {credentials.token}"} if self._bearer else None
        self._http: HttpClient = client_for(config, url, retry=retry, headers=headers)
        self._sso = BrowserLogin(self._http, NAME, credentials)
        self._configured = tuple(o.strip() for o in config.organisations if o.strip())
        self._sirens: tuple[str, ...] = tuple(dict.fromkeys(s for s in sirens if s))
        self._lock = threading.Lock()
        self._generation = 0
        self._logged_in = False
        self._organisations: list[Organisation] | None = None
        self._discovery_gaps: tuple[str, ...] = ()
        self._identity = ""
        self._departments: dict[str, str] = {}

    def use_sirens(self, sirens: Iterable[str]) -> None:
        """The roster's SIRENs: a functional administrator's organisations are searched by them."""
        wanted = tuple(dict.fromkeys(s.strip()[:9] for s in sirens if s and s.strip()))
        with self._lock:
            if wanted != self._sirens:
                self._sirens = wanted
                self._organisations = None

    # -- session -------------------------------------------------------------------------

    def _login(self) -> requests.Response:
        if self._bearer:
            response = self._http.request("GET", "/")
            if response.status_code == 401:
                raise PlatformAuthError(
                    "Le socle Mégalis refuse le jeton d'accès (CERTSYNC_TOKEN).",
                    hint="Le jeton a peut-être expiré : demandez-en un nouveau au SSO, ou "
                    "utilisez CERTSYNC_USER et CERTSYNC_PASSWORD.",
                )
            return response
        return self._sso.login("/")

    def _ensure_login(self) -> None:
        with self._lock:
            if not self._logged_in:
                self._index_page(self._login())
                self._logged_in = True
                self._generation += 1

    def _relogin(self, seen: int) -> None:
        with self._lock:
            # Another worker may already have renewed the shared session.
            if self._generation == seen:
                self._login()
                self._generation += 1

    def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        data: list[tuple[str, str]] | None = None,
    ) -> requests.Response:
        """One request; a redirect to the SSO (session over) means one new login, then again."""
        self._ensure_login()
        seen = self._generation
        response = self._http.request(method, path, idempotent=idempotent, data=data)
        if response.status_code == 401 and self._bearer:
            raise PlatformAuthError(
                "Le socle Mégalis refuse le jeton d'accès (CERTSYNC_TOKEN) en cours de route.",
                hint="Le jeton a expiré : relancez avec un nouveau jeton, ou avec "
                "CERTSYNC_USER et CERTSYNC_PASSWORD.",
            )
        if not self._bearer and self._sso.is_login_redirect(response):
            # The adapter redirects before the application runs: resending a POST is safe.
            self._relogin(seen)
            response = self._http.request(method, path, idempotent=idempotent, data=data)
        return response

    def _page(self, path: str) -> tuple[requests.Response, Page | None]:
        response = self._call("GET", path)
        ok = response.status_code == 200 and "html" in response.headers.get("Content-Type", "")
        return response, parse_page(response.text) if ok else None

    @staticmethod
    def _where(response: requests.Response) -> str:
        return urllib.parse.urlsplit(response.headers.get("Location", "")).path

    # -- organisations -------------------------------------------------------------------
    def _index_page(self, response: requests.Response) -> Page:
        page = parse_page(response.text) if response.status_code == 200 else None
        if page is None or 'id="main-content"' not in response.text:
            raise protocol_error(NAME, "la page d'accueil du socle est introuvable")
        return page

    def _post(
        self, form: Form, page: str, values: dict[str, str], *, write: bool = False
    ) -> requests.Response:
        """Send the form as rendered (hidden fields included), `values` replaced, + the button."""
        fields = list(form.fields)
        for name, value in values.items():
            if any(n == name for n, _ in fields):
                fields = [(n, value if n == name else v) for n, v in fields]
            else:
                fields.append((name, value))
        button = next((b for b in form.buttons if b[0] == SAVE_BUTTON), None)
        if button is None:
            raise protocol_error(NAME, f"pas de bouton « {SAVE_BUTTON} » sur {page}")
        action = urllib.parse.urljoin(self.url + page, form.action or page)
        return self._call("POST", action, idempotent=not write, data=[*fields, button])


def link_ids(links: Iterable[str], pattern: str) -> list[str]:
    found: list[str] = []
    for link in links:
        match = re.search(pattern + r"(?:[/?#]|$)", urllib.parse.urlsplit(link).path + "/")
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def account_of_row(row: dict[str, str], org_id: str) -> Account | None:
    email = (row.get("profil_email") or row.get("user_username") or "").strip()
    profil = (row.get("profil_id") or "").strip()
    if not email or not profil:
        return None
    nom = (row.get("user_lastname") or "").strip()
    disabled = nom.endswith(DISABLED_SUFFIX)
    if disabled:
        nom = nom[: -len(DISABLED_SUFFIX)].strip()
    enabled = (row.get("profil_enabled") or "true").strip().lower() != "false"
    return Account(
        profil,
        email,
        nom,
        (row.get("user_firstname") or "").strip(),
        active=enabled and not disabled,
        organisation=(row.get("organism_id") or org_id).strip(),
    )
