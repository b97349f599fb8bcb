"""Stand-in for the MyEc3 socle (Tapestry 5.8.2) behind its Keycloak adapter.

Written from `megalis-bretagne/myec3-socle` and `apache/tapestry-5` 5.8.2; every behaviour is
listed with its source in docs/platforms/socle.md. In short: every page needs a session set up
by the Keycloak adapter (302 to the SSO, back with `code`, JSESSIONID, 302 to the page first
asked) or a Bearer token; Index shows an organism administrator its organism and a functional
administrator the organism search; the agent list is exported per organism by submitting
`agent_export_form`; Tapestry forms carry a signed `t:formdata` listing the controls they
rendered, the page activation context in `t:ac`, and the save button as `submit_0`; a control
absent from a submission is stored as null (or false), a validation error re-renders the page
(200, Bootstrap alert), a success redirects (302); a disabled agent's Modify page redirects to
View; an unknown path renders Index (200).

Routes live in a table (`SocleApp.routes`) so that other modules (the CSV importer pages) can
add theirs with `add_route`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import html
import io
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from certsync.connectors.pem import SOCLE_CERTIFICATE_RE
from certsync.sandbox.forms import parse_pairs
from certsync.sandbox.keycloak import KeycloakApp, auth_url
from certsync.sandbox.server import DEMO_USER, Request, Response, SandboxCredentials
from certsync.sandbox.store import SandboxAccount, Store

REGEX_MESSAGE = "Le certificat n'est pas au bon format"
NO_CERTIFICATE = "Un certificat est requis pour utiliser cette fonctionnalité."
SUCCESS_MESSAGE = "Modifications enregistrées avec succès"
DISABLED_SUFFIX = " (désactivé)"
"""ListAgents.disableAgentProfile appends it to the last name."""
USERNAME_TAKEN = (
    "Cette adresse de courriel est déjà utilisée comme identifiant par un autre compte. Merci "
    "de saisir un alias de votre adresse de courriel dans le champ 'Identifiant'. Exemple : "
    "Adresse courriel = monadresse@exemple.com, Identifiant = monadresse+alias@exemple.com."
)
FORMDATA_ERROR = (
    "Forms require that the request method be POST and that the t:formdata query parameter "
    "have values."
)
TAMPERED = "Client data associated with the current request appears to have been tampered with."
STATE_COOKIE = "OAuth_Token_Request_State"
AUTO = "auto"
"""The sandbox administrator's role follows the data: the administrator of the only
organisation, or a functional administrator when there are several."""
EXPORT_HEADER = (
    "user_id;user_last_connection_date;user_mean_time_betweenTwoConnections;user_nbConnections;"
    "user_civility;user_firstname;user_lastname;user_username;user_connectionAttempts;profil_id;"
    "profil_externalId;profil_technicalIdentifier;profil_canton;profil_city;profil_country;"
    "profil_postalAddress;profil_postalCode;profil_cellPhone;profil_email;profil_enabled;"
    "profil_fax;profil_function;profil_grade;profil_phone;agent_profil_creation_date;"
    "agent_profil_elected;agent_profil_executive;agent_profil_representative;"
    "agent_profil_substitute;agent_profil_role_S2low;agent_profil_role_Pastell;"
    "organism_department_id;organism_department_label;organism_id;organism_label;"
    "organism_siren;organism_nic"
).split(";")
SELECTED = ' selected="selected"'
CIVILITIES = (("MR", "M."), ("MRS", "Mme"))
GRADES = (("DEPUTEE", "la Députée"), ("DIRECTRICE_ADJOINTE", "la Directrice adjointe"))
COUNTRIES = (("FR", "France"), ("AD", "Andorre"))
MEDIA = (("EMAIL", "Courriel"), ("POST", "Courrier Postal"))
REQUIRED_LABELS = {
    "firstname": "Le champ 'Prénom' est obligatoire",
    "lastname": "Le champ 'Nom' est obligatoire",
    "email": "Le champ 'Email' est obligatoire",
    "username": "Le champ 'Identifiant' est obligatoire",
}
LABELS = {
    "civility": "Civilité",
    "organismDepartment": "Niveau",
    "country": "Pays",
    "postalAddress": "Adresse",
    "postalCode": "Code postal",
    "city": "Ville",
}
REGEXPS = {
    "email": (
        r"^[a-zA-Z0-9._%+-]+@([a-zA-Z0-9-.]+)(\.[a-zA-Z]{2,63})$",
        "Syntaxe de l'adresse mail est incorrecte",
    ),
    "phone": (r"^[0-9]{10}$", "Le numéro de téléphone doit être composé de 10 chiffres"),
    "cellPhone": (
        r"^[0-9]{10}$",
        "Le numéro de téléphone portable doit être composé de 10 chiffres",
    ),
    "fax": (r"^[0-9]{10}$", "Le numéro de fax doit être composé de 10 chiffres"),
    "postalCode": (r"^[0-9]{5}$", "Le code postal doit être composé de 5 chiffres"),
}
#: Account fields kept in SandboxAccount.extra, with the value a new agent starts with.
EXTRA_DEFAULTS = {
    "civility": "MR",
    "technicalIdentifier": "",
    "elected": "false",
    "executive": "false",
    "representative": "false",
    "substitute": "false",
    "grade": "",
    "function": "",
    "country": "FR",
    "postalAddress": "1 place de la Mairie",
    "postalCode": "35000",
    "city": "Rennes",
    "canton": "",
    "cellPhone": "",
    "phone": "",
    "fax": "",
    "prefComMedia": "EMAIL",
    "username": "",
    "user_enabled": "true",
    "profil_enabled": "true",
    "organism": "",
    "organismDepartment": "",
}


@dataclass(frozen=True, slots=True)
class Control:
    """One form control as Tapestry stores it in t:formdata: name, kind, validation."""

    name: str
    kind: str
    """text, select, checkbox, textarea, submit."""
    required: bool = False


@dataclass(slots=True)
class Session:
    """One HTTP session (JSESSIONID): the logged user and Tapestry's persisted page fields."""

    username: str
    flash: dict[str, str] = field(default_factory=dict)
    search_results: list[str] | None = None
    """SearchResult's @Persist organismsResult."""
    modify_pending: tuple[str, dict[str, str | None]] | None = None
    """Modify's flash fields after "Vérifier le certificat" (`activateOnce`, `agentProfile`):
    the profile id and the values posted, consumed by the next activation of Modify."""
    pages: dict[str, Any] = field(default_factory=dict)
    """@Persist fields of pages other modules add (by page name), e.g. the importer's."""


Handler = Callable[[Request, Session, tuple[str, ...]], Response]


def html_page(title: str, body: str, status: int = 200) -> Response:
    """A page of the socle's layout (`<div id="main-content">`)."""
    text = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>"
        f'<div id="main-content">{body}</div></body></html>'
    )
    return Response(status, text.encode(), "text/html;charset=utf-8")


def redirect(location: str, *cookies: str) -> Response:
    """A 302, with Set-Cookie headers if given."""
    headers = [("Location", location)] + [("Set-Cookie", c) for c in cookies]
    return Response(302, b"", headers=headers)


def error_page(message: str) -> Response:
    """Tapestry's exception report (HTTP 500)."""
    # Tapestry's exception report page (production mode still answers 500).
    body = (
        f"<h1>An unexpected application exception has occurred.</h1><p>{html.escape(message)}</p>"
    )
    return html_page("Application Exception", body, 500)


def alert(banner: str, errors: list[str]) -> str:
    """Tapestry's Errors component (alert-dismissable alert alert-danger, h4 banner, ul)."""
    if not errors:
        return ""
    items = "".join(f"<li>{html.escape(e)}</li>" for e in dict.fromkeys(errors))
    return (
        '<div class="alert-dismissable alert alert-danger" role="alert">'
        '<button type="button" class="close" data-dismiss="alert">&times;</button>'
        f"<h4>{html.escape(banner)}</h4><ul>{items}</ul></div>"
    )


class SocleApp:
    """The socle's pages, its Keycloak adapter and its data (organisations, agents)."""

    retry_after_header = "Retry-After"

    def __init__(self, store: Store, credentials: SandboxCredentials) -> None:
        self.store = store
        self.credentials = credentials
        self.keycloak = KeycloakApp()
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)
        self.admins: dict[str, str | None] = {}
        """username → organism id for an organism administrator, None for a functional one,
        AUTO for the sandbox's own administrator (see `managed`)."""
        if credentials.user:
            self.keycloak.add_user(credentials.user, credentials.password)
            self.admins[credentials.user] = AUTO
        if credentials.token:
            owner = credentials.user or DEMO_USER
            self.keycloak.tokens[credentials.token] = owner
            self.admins.setdefault(owner, AUTO)
        with store.lock:
            store.extra.setdefault("organisations", {})
            store.extra.setdefault("next_organism", 1)
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        for method, pattern, handler in (
            ("GET", r"/?", self._index),
            ("GET", r"/organism/search/?", self._search_page),
            ("POST", r"/organism/search\.organism_search_form", self._search_submit),
            ("GET", r"/organism/searchresult/?", self._search_result),
            ("GET", r"/organism/detail/(\d+)", self._organism_detail),
            ("GET", r"/organism/agent/listagents/(\d+)", self._list_agents),
            ("GET", r"/organism/agent/export/export(?:/(\d+))?/?", self._export_page),
            ("POST", r"/organism/agent/export/export\.agent_export_form", self._export_submit),
            ("GET", r"/organism/agent/modify(?:/(\d+))?/?", self._modify_page),
            ("POST", r"/organism/agent/modify\.agent_form\.modification_form", self._modify_post),
            ("GET", r"/organism/agent/create/(\d+)/(\d+)", self._create_page),
            ("POST", r"/organism/agent/create\.agent_form\.modification_form", self._create_post),
            ("GET", r"/organism/agent/view/(\d+)", self._view),
            ("GET", r"/organism/agent/modifyroles/(\d+)", self._modify_roles),
        ):
            self.add_route(method, pattern, handler)
        # The CSV importer's pages (pages/organism/agent/export: Import, Report, CreateList,
        # Create, ModifyList, DeleteList) register their routes on this app; imported here
        # because that module builds on this one.
        from certsync.sandbox.socle_import import ImportPages

        self.imports = ImportPages(self)

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register a page: `handler(request, session, groups)`; first match wins."""
        self.routes.append((method, re.compile(pattern), handler))

    # -- data ------------------------------------------------------------------------------

    @property
    def organisations(self) -> dict[str, dict[str, Any]]:
        """Organism id → {label, siren, departments: {id: label}, root, postalAddress,
        postalCode, city} (the last three: `Organism.getAddress()`, which the importer needs)."""
        orgs: dict[str, dict[str, Any]] = self.store.extra["organisations"]
        return orgs

    def add_organisation(
        self, label: str, siren: str = "", address: tuple[str, str, str] | None = None
    ) -> str:
        """Create an organism with its root department; returns its id.

        `address` is (postal address, postal code, city); None gives the sandbox's default
        address, ("", "", "") an organism whose coordinates were never filled in.
        """
        if address is None:
            address = (
                EXTRA_DEFAULTS["postalAddress"],
                EXTRA_DEFAULTS["postalCode"],
                EXTRA_DEFAULTS["city"],
            )
        with self.store.mutate():
            number = int(self.store.extra["next_organism"])
            self.store.extra["next_organism"] = number + 1
            org_id = str(40 + number)
            root = str(900 + number)
            self.organisations[org_id] = {
                "label": label,
                "siren": siren,
                "departments": {root: label},
                "root": root,
                "postalAddress": address[0],
                "postalCode": address[1],
                "city": address[2],
            }
            return org_id

    def organisation_for(self, label: str, siren: str) -> str:
        """The organism with this SIREN (else this label), created if missing."""
        with self.store.lock:
            for org_id, org in self.organisations.items():
                if (siren and org["siren"] == siren) or (not siren and org["label"] == label):
                    return org_id
        return self.add_organisation(label or f"Organisme {siren}", siren)

    def add_organism_admin(self, username: str, password: str, org_id: str) -> None:
        """A ROLE_MANAGER_AGENT of one organism (Index shows it that organism)."""
        self.keycloak.add_user(username, password)
        self.admins[username] = org_id

    def seed_row(self, row: Mapping[str, str]) -> None:
        """Create an agent from a roster/export row, in the organisation its columns name."""
        org_id = self.organisation_for(
            row.get("organisation", "") or "Organisme de démonstration", row.get("siren", "")
        )
        self.seed(
            row["email"],
            row.get("nom", ""),
            row.get("prenom", ""),
            row.get("id", ""),
            organism=org_id,
        )

    def seed(self, email: str, nom: str, prenom: str, id: str = "", *, organism: str = "") -> None:
        """Create an agent at start, unless one with that e-mail exists."""
        if not organism:
            organism = self.organisation_for("Organisme de démonstration", "")
        with self.store.mutate():
            if self.store.by_email(email) is not None:
                return
            self.store.add(email, nom, prenom, id=id, extra=self.agent_extra(organism, email))

    def agent_extra(self, org_id: str, email: str, department: str = "") -> dict[str, str]:
        """The extra keys of a new, enabled agent of an organism (its root department)."""
        extra = dict(EXTRA_DEFAULTS, username=email, organism=org_id)
        extra["organismDepartment"] = department or self.organisations[org_id]["root"]
        return extra

    def disable(self, account_id: str) -> None:
        """ListAgents.disableAgentProfile: user disabled, " (désactivé)" added to the name."""
        with self.store.mutate():
            account = self.store.accounts[account_id]
            account.extra["user_enabled"] = "false"
            account.nom += DISABLED_SUFFIX

    def soft_delete(self, account_id: str) -> None:
        """AgentProfileServiceImpl.softDelete: back to the root department, then
        GenericProfileServiceImpl.deactivateProfile: e-mail and username replaced by
        `erased-<epoch ms>@archive.com`, user and profile disabled (the export and the
        importer no longer list it)."""
        erased = f"erased-{time.time_ns() // 1_000_000}@archive.com"
        with self.store.mutate():
            account = self.store.accounts[account_id]
            extra = account.extra
            extra["organismDepartment"] = self.organisations[extra["organism"]]["root"]
            account.email = erased
            extra.update(username=erased, user_enabled="false", profil_enabled="false")

    # -- adapter ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """The Keycloak adapter in front, then Tapestry's page dispatch."""
        cookies = _cookies(request)
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            user = self.keycloak.token_user(auth[7:].strip())
            if user is None:
                return Response(401, b"", headers=[("WWW-Authenticate", 'Bearer realm="megalis"')])
            # The bearer authenticates each request; Tapestry's @Persist fields still live
            # in an HTTP session, which the container opens and names in JSESSIONID.
            with self._lock:
                session = self.sessions.get(cookies.get("JSESSIONID", ""))
                if session is not None and session.username == user:
                    return self._dispatch(request, session)
                session_id = secrets.token_hex(16).upper()
                session = self.sessions[session_id] = Session(user)
            response = self._dispatch(request, session)
            response.headers.append(("Set-Cookie", f"JSESSIONID={session_id}; Path=/; HttpOnly"))
            return response
        with self._lock:
            session = self.sessions.get(cookies.get("JSESSIONID", ""))
        if session is not None:
            return self._dispatch(request, session)
        here = self._url(request)
        if request.arg("code"):
            return self._callback(request, cookies)
        state = f"{secrets.randbelow(10**6)}/{secrets.token_hex(16)}"
        return redirect(
            auth_url(self.keycloak.base_url, here, state),
            f"{STATE_COOKIE}={state}; Path=/; HttpOnly",
        )

    @staticmethod
    def _url(request: Request, *, strip_oauth: bool = False) -> str:
        host = request.headers.get("host", "127.0.0.1")
        pairs = [(k, v) for k, vs in request.query.items() for v in vs]
        if strip_oauth:
            pairs = [(k, v) for k, v in pairs if k not in {"code", "state", "session_state"}]
        query = urllib.parse.urlencode(pairs)
        return f"http://{host}{request.path}" + (f"?{query}" if query else "")

    def _callback(self, request: Request, cookies: dict[str, str]) -> Response:
        # OAuthRequestAuthenticator.checkStateCookie, then the code exchange.
        if cookies.get(STATE_COOKIE) != request.arg("state"):
            return Response(400, b"<html><body>Bad Request</body></html>", "text/html")
        stripped = self._url(request, strip_oauth=True)
        user = self.keycloak.exchange_code(request.arg("code"), stripped)
        if user is None or user not in self.admins:
            return Response(403, b"<html><body>Forbidden</body></html>", "text/html")
        session_id = secrets.token_hex(16).upper()
        with self._lock:
            self.sessions[session_id] = Session(user)
        return redirect(
            stripped,
            f"JSESSIONID={session_id}; Path=/; HttpOnly",
            f"{STATE_COOKIE}=; Path=/; Max-Age=0",
        )

    def _dispatch(self, request: Request, session: Session) -> Response:
        for method, pattern, handler in self.routes:
            if method == request.method:
                found = pattern.fullmatch(request.path)
                if found:
                    groups = tuple(g or "" for g in found.groups())
                    return handler(request, session, groups)
        # Tapestry: a path naming no page renders the start page with its own context.
        return self._index(request, session, ())

    # -- rights (AbstractPage.hasRights) ---------------------------------------------------

    def managed(self, username: str) -> str | None:
        """The organism a user administers, or None for a functional administrator."""
        role = self.admins.get(username)
        if role == AUTO:
            with self.store.lock:
                only = list(self.organisations)
            return only[0] if len(only) == 1 else None
        return role

    def _may_manage(self, session: Session, org_id: str) -> bool:
        managed = self.managed(session.username)
        return managed is None or managed == org_id

    # -- Index, search ---------------------------------------------------------------------

    def _index(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        flash = session.flash.pop("index", "")
        message = f'<p class="success">{html.escape(flash)}</p>' if flash else ""
        managed = self.managed(session.username)
        if managed is None:
            body = (
                "<h2>Accueil</h2><fieldset><legend>Bienvenue sur l'administration des "
                "organismes et entreprises</legend></fieldset>"
                '<ul class="links"><li><a href="./organism/create/">Créer un organisme</a></li>'
                '<li><a href="./organism/search/">Rechercher un organisme</a></li></ul>'
            )
            return html_page("Accueil", message + body)
        org = self.organisations[managed]
        label = html.escape(org["label"])
        # Index.tml's globalManagerAgentBlock, with Index.properties' French labels.
        body = (
            "<h2>Accueil</h2><fieldset><legend>Bienvenue sur l'administration de votre entité"
            f"</legend><p>Cet espace est dédié à l'administration de  {label} . Voici un aperçu "
            "des différentes actions réalisables.</p></fieldset>"
            f'<div id="search-intro" class="section"><h3>Gérer les coordonnées de {label}</h3>'
            f'<ul class="links"><li><a href="/organism/detail/{managed}">Gérer les coordonnées'
            "</a></li></ul></div>"
            '<div id="account-intro" class="section"><h3>Gérer les utilisateurs</h3>'
            f'<ul class="links"><li><a href="/organism/agent/listagents/{managed}">Liste des '
            'agents</a></li><li><a href="./user/search/">Rechercher un utilisateur</a></li>'
            f'<li><a href="/organism/agent/export/import/{managed}">Importer des utilisateurs'
            "</a></li></ul></div>"
            '<div id="account-intro" class="section"><h3>Créer un nouvel utilisateur</h3>'
            f'<ul class="links"><li><a href="/organism/agent/create/{managed}/{org["root"]}">'
            "Créer un nouvel utilisateur</a></li></ul></div>"
        )
        return html_page("Accueil", message + body)

    def _search_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        controls = [Control(n, "text") for n in ("organism", "siren", "postalCode", "city")]
        controls.append(Control("submit_0", "submit"))
        info = session.flash.pop("search", "")
        fields = "".join(
            f'<label for="{c.name}">{c.name}</label>'
            f'<input id="{c.name}" name="{c.name}" type="text" value="">'
            for c in controls[:-1]
        )
        body = (
            "<h2>Rechercher un organisme</h2>"
            + (f'<p class="infoDialogue">{html.escape(info)}</p>' if info else "")
            + self.form_open(
                "organism_search_form",
                "/organism/search.organism_search_form",
                "organism/Search",
                controls,
                "",
            )
            + f'<fieldset>{fields}<input type="submit" name="submit_0" id="submit_0" '
            'value="Rechercher"></fieldset></form>'
        )
        return html_page("Rechercher un organisme", body)

    def _search_submit(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        posted = self.submitted(request, "organism/Search")
        if isinstance(posted, Response):
            return posted
        values, _ = posted
        label, siren = values.get("organism") or "", values.get("siren") or ""
        postal, city = values.get("postalCode") or "", values.get("city") or ""
        if not (label or siren or postal or city):
            session.flash["search"] = (
                "Vous devez renseigner au moins un critère de recherche (Nom, SIREN, code "
                "postal ou commune)"
            )
            return redirect("/organism/search")
        # JpaOrganismDao.findAllByCriteria: label like %x% (upper), siren like x%.
        found = [
            org_id
            for org_id, org in sorted(self.organisations.items())
            if self._may_manage(session, org_id)
            and (not label or label.upper() in org["label"].upper())
            and (not siren or org["siren"].startswith(siren))
            and not postal
            and not city
        ]
        if not found:
            session.flash["search"] = "Aucun organisme ne correspond à cette recherche"
            return redirect("/organism/search")
        session.search_results = found
        return redirect("/organism/searchresult")

    def _search_result(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        if session.search_results is None:
            return redirect("/")
        rows = "".join(
            f'<tr><td class="label"><a href="/organism/detail/{o}">'
            f"{html.escape(self.organisations[o]['label'])}</a></td>"
            f'<td class="siren">{self.organisations[o]["siren"]}</td></tr>'
            for o in session.search_results
        )
        body = (
            f"<h2>Résultats de la recherche</h2><p>Nombre de résultats : "
            f"<strong>{len(session.search_results)}</strong></p>"
            f'<table class="t-data-grid"><tbody>{rows}</tbody></table>'
        )
        return html_page("Résultats", body)

    def _organism_detail(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        org_id = groups[0]
        if org_id not in self.organisations or not self._may_manage(session, org_id):
            return redirect("/")
        org = self.organisations[org_id]
        body = (
            f"<h2>{html.escape(org['label'])}</h2><p>SIREN : {org['siren']}</p>"
            f'<ul class="tabs"><li><a href="/organism/agent/listagents/{org_id}">'
            "Utilisateurs</a></li></ul>"
        )
        return html_page(org["label"], body)

    def _list_agents(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = groups[0]
        if org_id not in self.organisations or not self._may_manage(session, org_id):
            return redirect("/")
        org = self.organisations[org_id]
        with self.store.lock:
            count = sum(
                1 for a in self.store.accounts.values() if a.extra.get("organism") == org_id
            )
        body = (
            f"<h2>Liste des agents</h2><p>Nombre de résultats : <strong>{count}</strong></p>"
            f'<ul><li><a href="/organism/agent/export/export/{org_id}">Exporter la liste des '
            "utilisateurs</a></li>"
            f'<li><a href="/organism/agent/export/import/{org_id}">Importer une liste '
            "d'utilisateurs</a></li>"
            f'<li><a href="/organism/agent/create/{org_id}/{org["root"]}">Créer un '
            "utilisateur</a></li></ul>"
        )
        return html_page("Liste des agents", body)

    # -- export ----------------------------------------------------------------------------

    def _export_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = groups[0]
        if not org_id or org_id not in self.organisations:
            return redirect("/")
        if not self._may_manage(session, org_id):
            return redirect("/")
        controls = [Control("submit_0", "submit")]
        body = (
            "<h2>Exporter des utilisateurs</h2>"
            + self.form_open(
                "agent_export_form",
                "/organism/agent/export/export.agent_export_form",
                "organism/agent/export/Export",
                controls,
                org_id,
            )
            + '<fieldset class="import"><legend>Faire un nouvel export</legend>'
            '<div id="divSubmit" class="form-actions"><p><input type="submit" name="submit_0" '
            'data-submit-mode="normal" id="submit_0" value="Exporter le fichier"></p></div>'
            "</fieldset></form>"
        )
        return html_page("Exporter des utilisateurs", body)

    def _export_submit(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        pairs = parse_pairs(request)
        org_id = dict(pairs).get("t:ac", "")
        if not org_id or org_id not in self.organisations or not self._may_manage(session, org_id):
            return redirect("/")
        posted = self.submitted(request, "organism/agent/export/Export")
        if isinstance(posted, Response):
            return posted
        return self._csv(org_id)

    def _csv(self, org_id: str) -> Response:
        org = self.organisations[org_id]
        out = io.StringIO()
        # opencsv's CSVWriter(sw, ';'): every value quoted, quotes doubled, "\n" line ends.
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(EXPORT_HEADER)
        with self.store.lock:
            agents = [
                a
                for a in self.store.accounts.values()
                if a.extra.get("organism") == org_id and a.extra.get("profil_enabled") == "true"
            ]
            for a in agents:
                x = a.extra
                dept = x.get("organismDepartment", "")
                row = dict.fromkeys(EXPORT_HEADER, "")
                row.update(
                    user_id=x.get("user_id", a.id),
                    user_civility=dict(CIVILITIES).get(x.get("civility", ""), ""),
                    user_firstname=a.prenom,
                    user_lastname=a.nom,
                    user_username=x.get("username", ""),
                    user_connectionAttempts="0",
                    profil_id=a.id,
                    profil_technicalIdentifier=x.get("technicalIdentifier", ""),
                    profil_canton=x.get("canton", ""),
                    profil_city=x.get("city", ""),
                    profil_country=x.get("country", ""),
                    profil_postalAddress=x.get("postalAddress", ""),
                    profil_postalCode=x.get("postalCode", ""),
                    profil_cellPhone=x.get("cellPhone", ""),
                    profil_email=a.email,
                    profil_enabled=x.get("profil_enabled", "true"),
                    profil_fax=x.get("fax", ""),
                    profil_function=x.get("function", ""),
                    profil_grade=x.get("grade", ""),
                    profil_phone=x.get("phone", ""),
                    agent_profil_elected=x.get("elected", "false"),
                    agent_profil_executive=x.get("executive", "false"),
                    agent_profil_representative=x.get("representative", "false"),
                    agent_profil_substitute=x.get("substitute", "false"),
                    organism_department_id=dept,
                    organism_department_label=org["departments"].get(dept, ""),
                    organism_id=org_id,
                    organism_label=org["label"],
                    organism_siren=org["siren"],
                )
                writer.writerow([row[h] for h in EXPORT_HEADER])
        body = ("\ufeff" + out.getvalue()).encode("utf-8")
        headers = [("Content-Disposition", "attachment; filename=export_agent.csv")]
        return Response(200, body, "text/csv", headers)

    # -- Tapestry forms --------------------------------------------------------------------

    def _formdata(self, page: str, controls: list[Control]) -> str:
        payload = json.dumps(
            {"page": page, "controls": [[c.name, c.kind, c.required] for c in controls]}
        ).encode()
        mac = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()
        return f"{mac}:{base64.b64encode(payload).decode()}"

    def form_open(
        self, form_id: str, action: str, page: str, controls: list[Control], context: str
    ) -> str:
        """A Tapestry form's opening: hidden `t:ac` (activation context) and signed `t:formdata`."""
        hidden = ""
        if context:
            hidden += f'<input type="hidden" name="t:ac" value="{html.escape(context)}">'
        hidden += (
            f'<input type="hidden" name="t:formdata" '
            f'value="{html.escape(self._formdata(page, controls), quote=True)}">'
        )
        return (
            f'<form id="{form_id}" method="post" action="{action}" '
            f'data-generator="tapestry/core/form"><div>{hidden}</div>'
        )

    def submitted(
        self, request: Request, page: str
    ) -> tuple[dict[str, str | None], list[Control]] | Response:
        """Form.executeStoredActions: refuse without t:formdata; each control reads its name."""
        pairs = parse_pairs(request)
        values = [v for n, v in pairs if n == "t:formdata"]
        if not values:
            return error_page(FORMDATA_ERROR)
        mac, _, encoded = values[0].partition(":")
        try:
            payload = base64.b64decode(encoded, validate=True)
        except ValueError:
            return error_page(TAMPERED)
        expected = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, expected):
            return error_page(TAMPERED)
        data = json.loads(payload)
        if data["page"] != page:
            return error_page(TAMPERED)
        controls = [Control(n, k, r) for n, k, r in data["controls"]]
        posted: dict[str, str] = {}
        for name, value in pairs:
            posted.setdefault(name, value)
        out: dict[str, str | None] = {}
        for control in controls:
            raw = posted.get(control.name)
            if control.kind == "checkbox":
                out[control.name] = "true" if raw is not None else "false"
            elif control.kind == "submit":
                out[control.name] = raw
            else:
                # Tapestry's default null strategy: a blank or absent value becomes null.
                out[control.name] = raw if raw else None
        return out, controls

    # -- agent form (components/AgentForm.tml) ---------------------------------------------

    def _agent_controls(self, session: Session) -> list[Control]:
        controls = [
            Control("civility", "select", True),
            Control("firstname", "text", True),
            Control("lastname", "text", True),
            Control("technicalIdentifier", "text"),
            Control("elected", "checkbox"),
        ]
        if self.managed(session.username) is None:
            # <t:if test="isAdmin">: only a functional/technical administrator sees these.
            controls += [
                Control(n, "checkbox") for n in ("executive", "representative", "substitute")
            ]
        controls += [
            Control("grade", "select"),
            Control("function", "text"),
            Control("organismDepartment", "select", True),
            Control("country", "select", True),
            Control("postalAddress", "text", True),
            Control("postalCode", "text", True),
            Control("city", "text", True),
            Control("canton", "text"),
            Control("email", "text", True),
            Control("cellPhone", "text"),
            Control("phone", "text"),
            Control("fax", "text"),
            Control("certificate", "textarea"),
            Control("checkCertificate", "submit"),
            Control("prefComMedia", "select", True),
            Control("submit_0", "submit"),
        ]
        return controls

    def _options(self, name: str, org_id: str) -> tuple[tuple[str, str], ...]:
        if name == "civility":
            return CIVILITIES
        if name == "grade":
            return (("", "Non renseignée"), *GRADES)
        if name == "country":
            return COUNTRIES
        if name == "prefComMedia":
            return MEDIA
        departments: dict[str, str] = self.organisations[org_id]["departments"]
        return tuple(departments.items())

    def _agent_form(
        self,
        session: Session,
        *,
        action: str,
        page: str,
        context: str,
        org_id: str,
        values: Mapping[str, str | None],
        errors: list[str],
        creating: bool,
    ) -> str:
        controls = self._agent_controls(session)
        banner = (
            "Erreur lors de la création de l'utilisateur"
            if creating
            else "Erreur lors de la modification de l'utilisateur"
        )
        parts = [
            '<p class="mandatory">Les champs marqués d\'un * sont obligatoires</p>',
            self.form_open("modification_form", action, page, controls, context),
            alert(banner, errors),
            "<fieldset><legend>Coordonnées de l'utilisateur</legend>",
        ]
        for control in controls:
            name = control.name
            value = values.get(name) or ""
            label = f'<label for="{name}">{html.escape(LABELS.get(name, name))}</label>'
            if control.kind == "text":
                parts.append(
                    f'<p>{label}<input id="{name}" name="{name}" type="text" '
                    f'value="{html.escape(value, quote=True)}"></p>'
                )
            elif control.kind == "checkbox":
                checked = ' checked="checked"' if value == "true" else ""
                parts.append(
                    f'<p>{label}<input type="checkbox" name="{name}" id="{name}"{checked}></p>'
                )
            elif control.kind == "select":
                options = "".join(
                    f'<option value="{v}"{SELECTED if v == value else ""}>'
                    f"{html.escape(text)}</option>"
                    for v, text in self._options(name, org_id)
                )
                parts.append(f'<p>{label}<select name="{name}" id="{name}">{options}</select></p>')
            elif control.kind == "textarea":
                parts.append(
                    # TextArea.afterRender writes the value right after the tag, no newline.
                    f'<p>{label}<textarea name="{name}" id="{name}">{html.escape(value)}</textarea>'
                )
            elif name == "checkCertificate":
                parts.append(
                    '<input type="submit" name="checkCertificate" data-submit-mode="normal" '
                    'class="button btnOk" id="checkCertificate" value="Vérifier le certificat"></p>'
                )
            else:
                parts.append(
                    '<div class="form-actions"><p><input type="submit" name="submit_0" '
                    'data-submit-mode="normal" class="button btnOk" id="submit_0" '
                    'value="Enregistrer"><input type="reset" value="Annuler" id="cancelButton">'
                    "</p></div>"
                )
        parts.append("</fieldset></form>")
        return "".join(parts)

    @staticmethod
    def _values(account: SandboxAccount) -> dict[str, str | None]:
        values: dict[str, str | None] = dict(account.extra)
        values.update(
            firstname=account.prenom,
            lastname=account.nom,
            email=account.email,
            certificate=account.certificate,
        )
        return values

    def _validate(
        self, values: dict[str, str | None], controls: list[Control], account: SandboxAccount | None
    ) -> list[str]:
        errors = []
        for control in controls:
            value = values.get(control.name)
            if control.required and value is None:
                label = LABELS.get(control.name, control.name)
                errors.append(
                    REQUIRED_LABELS.get(control.name)
                    or f"Vous devez fournir une valeur pour {label}."
                )
            elif value is not None and control.name in REGEXPS:
                pattern, message = REGEXPS[control.name]
                if not re.fullmatch(pattern, value):
                    errors.append(message)
        certificate = values.get("certificate")
        if certificate is not None and not SOCLE_CERTIFICATE_RE.fullmatch(certificate):
            errors.append(REGEX_MESSAGE)
        email = values.get("email")
        if email and not errors:
            # AgentForm.onValidate: profileService.usernameAlreadyExists(email, agentProfile).
            with self.store.lock:
                taken = any(
                    a.extra.get("username", "").casefold() == email.casefold()
                    and (account is None or a.id != account.id)
                    for a in self.store.accounts.values()
                )
            username = account.extra.get("username") if account else None
            if taken and (not username or username == email):
                errors.append(USERNAME_TAKEN)
        return errors

    def _store_values(self, account: SandboxAccount, values: dict[str, str | None]) -> None:
        # Only controls the form rendered (and so listed in t:formdata) are written.
        for name, value in values.items():
            if name in {"submit_0", "checkCertificate"}:
                continue
            if name == "firstname":
                account.prenom = value or ""
            elif name == "lastname":
                account.nom = value or ""
            elif name == "email":
                account.email = value or ""
            elif name == "certificate":
                if value != account.certificate:
                    account.writes += 1 if value is not None else 0
                    account.deletions += 1 if value is None and account.certificate else 0
                account.certificate = value
            else:
                account.extra[name] = value or ""

    def _account(self, account_id: str) -> SandboxAccount | None:
        with self.store.lock:
            return self.store.accounts.get(account_id)

    def _modify_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        pending, session.modify_pending = session.modify_pending, None
        if pending is not None:
            # Modify.onActivate: with activateOnce TRUE the agent is not reloaded from the id;
            # the page shows the flash agentProfile, whichever id the URL names.
            held = self._account(pending[0])
            if held is not None:
                return self._render_modify(session, held, pending[1], [])
        account = self._account(groups[0]) if groups[0] else None
        if not groups[0]:
            return redirect("/organism/agent/view")
        if account is None:
            return error_page("agentProfile is null")
        if account.extra.get("user_enabled") != "true":
            return redirect(f"/organism/agent/view/{account.id}")
        org_id = account.extra["organism"]
        if not self._may_manage(session, org_id):
            return redirect("/")
        return self._render_modify(session, account, self._values(account), [])

    def _render_modify(
        self,
        session: Session,
        account: SandboxAccount,
        values: Mapping[str, str | None],
        errors: list[str],
    ) -> Response:
        form = self._agent_form(
            session,
            action="/organism/agent/modify.agent_form.modification_form",
            page="organism/agent/Modify",
            context=account.id,
            org_id=account.extra["organism"],
            values=values,
            errors=errors,
            creating=False,
        )
        title = f"{account.prenom} {account.nom}"
        tabs = (
            f'<ul class="tabs"><li class="active"><strong>Informations</strong></li>'
            f'<li><a href="/organism/agent/modifyroles/{account.id}">Services</a></li></ul>'
        )
        return html_page(title, f"<h2>{html.escape(title)}</h2>{tabs}{form}")

    def _modify_post(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        context = dict(parse_pairs(request)).get("t:ac", "")
        if not context:
            return redirect("/organism/agent/view")
        pending, session.modify_pending = session.modify_pending, None
        account = self._account(pending[0] if pending is not None else context)
        if account is None:
            return error_page("agentProfile is null")
        # The activate event runs first on a form submission too (and, with activateOnce
        # TRUE, skips both the reload from t:ac and the enabled check).
        if pending is None and account.extra.get("user_enabled") != "true":
            return redirect(f"/organism/agent/view/{account.id}")
        if not self._may_manage(session, account.extra["organism"]):
            return redirect("/")
        posted = self.submitted(request, "organism/agent/Modify")
        if isinstance(posted, Response):
            return posted
        values, controls = posted
        errors = self._validate(values, controls, account)
        if errors:
            return self._render_modify(session, account, values, errors)
        if values.get("checkCertificate") is not None:
            # Modify.onSuccess with certificateValid: nothing saved, activateOnce and the
            # profile as posted kept in the session (flash), back to the form.
            session.modify_pending = (account.id, values)
            if values.get("certificate") is None:
                session.flash["modify"] = NO_CERTIFICATE
            return redirect(f"/organism/agent/modify/{account.id}")
        with self.store.mutate():
            self._store_values(account, values)
        session.flash["view"] = SUCCESS_MESSAGE
        return redirect(f"/organism/agent/view/{account.id}")

    def _create_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id, dept = groups
        if (
            org_id not in self.organisations
            or dept not in self.organisations[org_id]["departments"]
        ):
            return error_page("organismDepartment is null")
        if not self._may_manage(session, org_id):
            return redirect("/")
        values: dict[str, str | None] = dict(EXTRA_DEFAULTS, organismDepartment=dept)
        values["username"] = None
        return self._render_create(session, org_id, dept, values, [])

    def _render_create(
        self,
        session: Session,
        org_id: str,
        dept: str,
        values: Mapping[str, str | None],
        errors: list[str],
    ) -> Response:
        form = self._agent_form(
            session,
            action="/organism/agent/create.agent_form.modification_form",
            page="organism/agent/Create",
            context=f"{org_id}/{dept}",
            org_id=org_id,
            values=values,
            errors=errors,
            creating=True,
        )
        return html_page("Création d'un utilisateur", f"<h2>Créer un utilisateur</h2>{form}")

    def _create_post(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id, _, dept = dict(parse_pairs(request)).get("t:ac", "").partition("/")
        if (
            org_id not in self.organisations
            or dept not in self.organisations[org_id]["departments"]
        ):
            return error_page("organismDepartment is null")
        if not self._may_manage(session, org_id):
            return redirect("/")
        posted = self.submitted(request, "organism/agent/Create")
        if isinstance(posted, Response):
            return posted
        values, controls = posted
        errors = self._validate(values, controls, None)
        if errors:
            return self._render_create(session, org_id, dept, values, errors)
        if values.get("checkCertificate") is not None:
            return redirect(f"/organism/agent/create/{org_id}/{dept}")
        with self.store.mutate():
            email = values.get("email") or ""
            extra = dict(EXTRA_DEFAULTS, organism=org_id, username=email)
            account = self.store.add(email, extra=extra)
            self._store_values(account, values)
        return redirect(f"/organism/agent/modifyroles/{account.id}")

    def _view(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        account = self._account(groups[0])
        if account is None:
            return redirect("/")
        flash = session.flash.pop("view", "")
        message = f'<p class="success">{html.escape(flash)}</p>' if flash else ""
        status = "" if account.extra.get("user_enabled") == "true" else "<p>Compte désactivé</p>"
        certificate = "<p>Certificat renseigné</p>" if account.certificate else ""
        body = (
            f"<h2>Fiche de l'utilisateur</h2>{message}"
            f"<p>{html.escape(account.prenom)} {html.escape(account.nom)}</p>{status}{certificate}"
        )
        return html_page("Fiche de l'utilisateur", body)

    def _modify_roles(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        account = self._account(groups[0])
        if account is None:
            return redirect("/")
        body = (
            f"<h2>{html.escape(account.prenom)} {html.escape(account.nom)}</h2>"
            f'<p class="success">{SUCCESS_MESSAGE}</p><h3>Services</h3>'
        )
        return html_page("Rôles", body)


def _cookies(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in re.findall(r"([\w.-]+)=([^;]*)", request.headers.get("cookie", "")):
        out.setdefault(name, value)
    return out
