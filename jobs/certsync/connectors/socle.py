"""Connector to the MyEc3 socle ("Mes Services"), which has no API: it drives the admin pages.

Every behaviour relied on is listed with its source in docs/platforms/socle.md: login through
the Keycloak adapter (connectors/keycloak.py) or a Bearer access token; organisations found on
Index (an organism administrator), through the organism search by SIREN (a functional
administrator) or configured (`organisations = [...]`); the agent list exported per organism
by submitting `agent_export_form`; the agent form `modification_form` sent back with every
field it rendered (hidden `t:ac` and `t:formdata` included) and its save button `submit_0`;
a disabled agent's Modify page redirecting to View; creation at
`/organism/agent/create/{organism}/{department}`, answered by a redirect to
`/organism/agent/modifyroles/{id}`.

All workers share one socle session: Tapestry keeps a form's state in the page (`t:formdata`,
`t:ac`), and Modify/Create reload the agent from `t:ac` on every submission unless the
"Vérifier le certificat" button was pressed, which this connector never does (see the doc).
"""

from __future__ import annotations

import csv
import io
import re
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

import requests

from certsync.config import PlatformConfig
from certsync.connectors.credentials import Credentials
from certsync.connectors.htmlform import Form, Page, parse_page
from certsync.connectors.http import (
    HttpClient,
    RetryPolicy,
    client_for,
    protocol_error,
    unavailable,
)
from certsync.connectors.interface import (
    Account,
    AccountListing,
    AccountSnapshot,
    Connector,
    OrganisationSummary,
    Rejected,
    Survey,
    Unavailable,
)
from certsync.connectors.keycloak import BrowserLogin
from certsync.connectors.listing import AccountCollector, count_by_organisation, probe_edit
from certsync.errors import PlatformAuthError, PlatformProtocolError
from certsync.records import Agent

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
_NAME = "socle"
_REDIRECTS = frozenset({301, 302, 303, 307})


@dataclass(frozen=True, slots=True)
class Organisation:
    """One organism this account may manage."""

    id: str
    label: str = ""
    siren: str = ""


class _Gap(Exception):
    """One organisation could not be listed; the French reason goes into the listing."""


class SocleConnector(Connector):
    """Reads and writes agents' forms as an administrator would, organisation by organisation."""

    name = _NAME

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
        self._sso = BrowserLogin(self._http, _NAME, credentials)
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
            raise protocol_error(_NAME, "la page d'accueil du socle est introuvable")
        return page

    def _discover(self) -> list[Organisation]:
        with self._lock:
            if self._organisations is not None:
                return self._organisations
        gaps: list[str] = []
        if self._configured:
            found = [Organisation(o) for o in self._configured]
            identity = "compte configuré pour " + ", ".join(self._configured)
        else:
            response, _ = self._page("/")
            page = self._index_page(response)
            managed = _ids(page.links, r"/organism/agent/listagents/(\d+)")
            if managed:
                # Index's globalManagerAgentBlock: the administrator's own organism.
                found = [Organisation(managed[0])]
                identity = "administrateur de l'organisme"
            elif any(link.rstrip("/").endswith("organism/search") for link in page.links):
                identity = "administrateur fonctionnel"
                found = self._search(gaps)
            else:
                raise PlatformAuthError(
                    "Ce compte du socle n'administre aucun organisme.",
                    hint="Utilisez le compte d'un administrateur de l'organisme ou d'un "
                    "administrateur fonctionnel de Mégalis.",
                )
        with self._lock:
            self._organisations = found
            self._discovery_gaps = tuple(gaps)
            self._identity = identity
        return found

    def _search(self, gaps: list[str]) -> list[Organisation]:
        if not self._sirens:
            gaps.append(
                "administrateur fonctionnel : aucun SIREN dans la liste des agents pour "
                "retrouver les organismes (ajoutez la colonne SIREN, ou « organisations » "
                "dans la configuration [platform])"
            )
            return []
        found: dict[str, Organisation] = {}
        for siren in self._sirens:
            try:
                for org in self._search_one(siren):
                    found.setdefault(org.id, org)
            except _Gap as gap:
                gaps.append(str(gap))
        return list(found.values())

    def _search_one(self, siren: str) -> list[Organisation]:
        _, page = self._page(SEARCH_PAGE)
        form = page.form(SEARCH_FORM) if page is not None else None
        if form is None:
            raise _Gap(f"SIREN {siren} : la recherche d'organismes est inaccessible")
        values = {"siren": siren}
        answer = self._post(form, SEARCH_PAGE, values)
        if answer.status_code not in _REDIRECTS:
            raise _Gap(f"SIREN {siren} : recherche refusée (HTTP {answer.status_code})")
        target = self._where(answer)
        if not target.rstrip("/").endswith("searchresult"):
            return []  # "Aucun organisme ne correspond à cette recherche"
        _, page = self._page(target)
        if page is None:
            raise _Gap(f"SIREN {siren} : résultats de recherche illisibles")
        ids = _ids(page.links, r"/organism/detail(?:organism)?/(\d+)")
        return [Organisation(i, siren=siren) for i in ids]

    # -- listing -------------------------------------------------------------------------

    def _export_csv(self, org: Organisation) -> bytes:
        """The organism's export_agent.csv as the socle sends it (BOM, `;`, quoted)."""
        path = EXPORT_PAGE.format(org=org.id)
        response, page = self._page(path)
        form = page.form(EXPORT_FORM) if page is not None else None
        if form is None:
            why = (
                "redirigé vers l'accueil (organisme inconnu ou droits insuffisants)"
                if response.status_code in _REDIRECTS
                else f"pas de formulaire d'export (HTTP {response.status_code})"
            )
            raise _Gap(f"organisme {org.id} : {why}")
        answer = self._post(form, path, {})
        if answer.status_code != 200 or "csv" not in answer.headers.get("Content-Type", ""):
            errors = parse_page(answer.text).errors if answer.status_code == 200 else ()
            said = f" : {errors[0]}" if errors else f" (HTTP {answer.status_code})"
            raise _Gap(f"organisme {org.id} : export refusé{said}")
        return answer.content

    def _export(self, org: Organisation) -> list[dict[str, str]]:
        text = self._export_csv(org).decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
        if not reader.fieldnames or not set(EXPORT_REQUIRED) <= set(reader.fieldnames):
            raise protocol_error(_NAME, "l'export des agents n'a pas les colonnes attendues")
        return list(reader)

    def export_files(self) -> tuple[dict[str, bytes], tuple[str, ...]]:
        """Each managed organism's export_agent.csv, unchanged (organism id → bytes), and the
        French reasons for the organisms that could not be exported (for `onboarding --url`)."""
        try:
            organisations = self._discover()
        except Unavailable as exc:
            return {}, (f"organismes introuvables : {exc.reason}",)
        gaps = list(self._discovery_gaps)
        exports: dict[str, bytes] = {}
        for org in organisations:
            try:
                exports[org.id] = self._export_csv(org)
            except _Gap as gap:
                gaps.append(str(gap))
            except Unavailable as exc:
                gaps.append(f"organisme {org.id} : {exc.reason}")
        return exports, tuple(gaps)

    def listing(self) -> AccountListing:
        """Every organisation's export; an organisation that fails is a gap, the rest is kept."""
        try:
            organisations = self._discover()
        except Unavailable as exc:
            return AccountListing({}, (f"organismes introuvables : {exc.reason}",))
        collected = AccountCollector()
        gaps = list(self._discovery_gaps)
        labelled: list[Organisation] = []
        for org in organisations:
            try:
                rows = self._export(org)
            except _Gap as gap:
                gaps.append(str(gap))
                continue
            except Unavailable as exc:
                gaps.append(f"organisme {org.id} : {exc.reason}")
                continue
            first = rows[0] if rows else {}
            labelled.append(
                Organisation(
                    org.id,
                    first.get("organism_label", "") or org.label,
                    first.get("organism_siren", "") or org.siren,
                )
            )
            for row in rows:
                account = _account(row, org.id)
                if account is not None:
                    collected.add(account)
        with self._lock:
            known = {o.id: o for o in labelled}
            self._organisations = [known.get(o.id, o) for o in organisations]
        return collected.listing(gaps)

    def list_accounts(self) -> dict[str, Account]:
        """Every account, or an error when the listing is incomplete.

        Callers of this older entry point cannot see gaps: an agent of an organisation that
        could not be exported would look absent (and be created again with --create-missing).
        `listing()` returns the gaps instead.
        """
        listing = self.listing()
        if listing.gaps:
            raise PlatformProtocolError(
                "Liste des agents du socle incomplète : " + " ; ".join(listing.gaps) + ".",
                hint="Vérifiez les droits du compte sur chaque organisme, ou indiquez les "
                "organismes à traiter (organisations = [...] dans la section [platform]).",
            )
        return listing.accounts

    # -- one agent -----------------------------------------------------------------------

    def _agent_form(self, account: Account) -> tuple[str, Form]:
        path = MODIFY_PAGE.format(id=account.id)
        response, page = self._page(path)
        if response.status_code in _REDIRECTS:
            target = self._where(response)
            if "/organism/agent/view" in target:
                # Modify.onActivate: "redirect to the main page if the user is not Enable".
                raise Rejected(
                    f"Le compte de {account.email} est désactivé sur le socle : sa page de "
                    "modification renvoie vers sa fiche et rien n'y est écrit. Réactivez-le "
                    "(Liste des agents → Activer) s'il doit recevoir son certificat, sinon "
                    "retirez-le de la liste."
                )
            raise Rejected(
                f"Le socle refuse l'accès à la fiche de {account.email} (renvoi vers "
                f"{target or 'une autre page'}) : droits insuffisants sur son organisme."
            )
        form = page.form(AGENT_FORM) if page is not None else None
        if form is None:
            raise protocol_error(_NAME, f"pas de formulaire « {AGENT_FORM} » sur {path}")
        if not form.has("certificate"):
            raise protocol_error(_NAME, "le formulaire de l'agent n'a pas de champ certificat")
        return path, form

    def read_account(self, account: Account) -> AccountSnapshot:
        """The agent form as a browser would submit it: the certificate and every other field."""
        _, form = self._agent_form(account)
        fields = tuple((n, v) for n, v in form.fields if n not in TECHNICAL_FIELDS)
        certificate = form.get("certificate") or None
        return AccountSnapshot(certificate, tuple((n, v) for n, v in fields if n != "certificate"))

    def read_certificate(self, account: Account) -> str | None:
        """The `certificate` textarea of the agent's form, verbatim."""
        return self.read_account(account).certificate

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
            raise protocol_error(_NAME, f"pas de bouton « {SAVE_BUTTON} » sur {page}")
        action = urllib.parse.urljoin(self.url + page, form.action or page)
        return self._call("POST", action, idempotent=not write, data=[*fields, button])

    def _saved(self, response: requests.Response, what: str) -> str:
        if response.status_code == 200:
            page = parse_page(response.text)
            raise Rejected(
                " ; ".join(page.errors) if page.errors else "Formulaire refusé sans message"
            )
        if response.status_code not in _REDIRECTS:
            raise protocol_error(_NAME, f"{what} : HTTP {response.status_code}")
        return self._where(response)

    def write_certificate(self, account: Account, pem: str) -> None:
        """Submit the agent's form with `certificate` replaced and every other field as read."""
        path, form = self._agent_form(account)
        target = self._saved(
            self._post(form, path, {"certificate": pem}, write=True), "enregistrement"
        )
        if "/organism/agent/view" not in target:
            raise protocol_error(_NAME, f"enregistrement : renvoi inattendu vers {target}")

    def _organisation_of(self, agent: Agent) -> str:
        organisations = self._discover()
        siren = (agent.siren or agent.siret[:9]).strip()
        matches = [o.id for o in organisations if siren and o.siren == siren]
        if not matches and len(organisations) == 1 and not siren:
            matches = [organisations[0].id]
        if len(matches) != 1:
            raise Rejected(
                f"Organisme de {agent.email} introuvable parmi ceux que ce compte administre "
                f"(SIREN « {siren or 'absent'} ») : compte non créé."
            )
        return matches[0]

    def _department(self, org_id: str) -> str:
        with self._lock:
            known = self._departments.get(org_id)
        if known:
            return known
        _, page = self._page(LIST_PAGE.format(org=org_id))
        links = _ids(page.links if page else (), rf"/organism/agent/create/{org_id}/(\d+)")
        if not links:
            raise Rejected(f"Le socle ne propose pas de créer un agent dans l'organisme {org_id}.")
        with self._lock:
            self._departments[org_id] = links[0]
        return links[0]

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        """Create the agent as the Create page does (AgentForm, then the roles page)."""
        org_id = self._organisation_of(agent)
        path = CREATE_PAGE.format(org=org_id, dept=self._department(org_id))
        _, page = self._page(path)
        form = page.form(AGENT_FORM) if page is not None else None
        if form is None:
            raise protocol_error(_NAME, f"pas de formulaire « {AGENT_FORM} » sur {path}")
        values = {"lastname": agent.nom, "firstname": agent.prenom, "email": agent.email}
        if pem:
            values["certificate"] = pem
        target = self._saved(self._post(form, path, values, write=True), "création")
        found = re.search(r"/organism/agent/modifyroles/(\d+)", target)
        if not found:
            raise protocol_error(_NAME, f"création : renvoi inattendu vers {target}")
        return Account(found.group(1), agent.email, agent.nom, agent.prenom, organisation=org_id)

    # -- first contact -------------------------------------------------------------------

    def check(self) -> None:
        """Log in and find the socle's Index; everything before any write."""
        if not (self._credentials.has_login or self._credentials.token):
            raise PlatformAuthError(
                "Identifiants du socle Mégalis absents.",
                hint="Définissez CERTSYNC_USER et CERTSYNC_PASSWORD (ou user_file et "
                "password_file dans la configuration), ou un jeton d'accès CERTSYNC_TOKEN.",
            )
        try:
            self._ensure_login()
        except Unavailable as exc:
            raise unavailable(_NAME, self.url, exc) from None

    def survey(self) -> Survey:
        """Who is logged in, which organisations with how many agents, whether a form opens."""
        self.check()
        listing = self.listing()
        counts = count_by_organisation(listing)
        organisations = tuple(
            OrganisationSummary(o.id, o.label, counts.get(o.id, 0))
            for o in (self._organisations or [])
        )
        can_edit, notes = probe_edit(listing, self._agent_form)
        identity = self._identity
        if identity == "administrateur de l'organisme" and organisations:
            identity += f" {organisations[0].label or organisations[0].id}"
        if self._credentials.user:
            identity = f"{self._credentials.user} ({identity})"
        return Survey(identity, organisations, can_edit, notes)

    def close(self) -> None:
        """Release HTTP sessions."""
        self._http.close()


def _ids(links: Iterable[str], pattern: str) -> list[str]:
    found: list[str] = []
    for link in links:
        match = re.search(pattern + r"(?:[/?#]|$)", urllib.parse.urlsplit(link).path + "/")
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def _account(row: dict[str, str], org_id: str) -> Account | None:
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
