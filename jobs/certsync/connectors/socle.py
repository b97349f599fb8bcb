"""Connector to the MyEc3 socle ("Mes Services"), which has no API: it drives the admin pages.

The shared session is in `socle_session.py`, organisation discovery and export in
`socle_listing.py`, the agent forms here. Every behaviour relied on is listed with its source
in docs/platforms/socle.md: login through the Keycloak adapter (connectors/keycloak.py) or a
Bearer access token; organisations found on Index (an organism administrator), through the
organism search by SIREN (a functional administrator) or configured (`organisations = [...]`);
the agent list exported per organism by submitting `agent_export_form`; the agent form
`modification_form` sent back with every field it rendered (hidden `t:ac` and `t:formdata`
included) and its save button `submit_0`; a disabled agent's Modify page redirecting to View;
creation at `/organism/agent/create/{organism}/{department}`, answered by a redirect to
`/organism/agent/modifyroles/{id}`.

All workers share one socle session: Tapestry keeps a form's state in the page (`t:formdata`,
`t:ac`), and Modify/Create reload the agent from `t:ac` on every submission unless the
"Vérifier le certificat" button was pressed, which this connector never does (see the doc).
"""

from __future__ import annotations

import re

import requests

from certsync.connectors.htmlform import Form, parse_page
from certsync.connectors.http import protocol_error, unavailable
from certsync.connectors.interface import (
    Account,
    AccountSnapshot,
    Connector,
    OrganisationSummary,
    Rejected,
    Survey,
    Unavailable,
)
from certsync.connectors.listing import count_by_organisation, probe_edit
from certsync.connectors.socle_listing import SocleListing
from certsync.connectors.socle_session import (
    AGENT_FORM,
    CREATE_PAGE,
    DISABLED_SUFFIX,
    EXPORT_FORM,
    EXPORT_PAGE,
    EXPORT_REQUIRED,
    LIST_PAGE,
    MODIFY_PAGE,
    NAME,
    REDIRECTS,
    SAVE_BUTTON,
    SEARCH_FORM,
    SEARCH_PAGE,
    TECHNICAL_FIELDS,
    Organisation,
    SocleSession,
    link_ids,
)
from certsync.errors import PlatformAuthError
from certsync.records import Agent

__all__ = [
    "AGENT_FORM",
    "CREATE_PAGE",
    "DISABLED_SUFFIX",
    "EXPORT_FORM",
    "EXPORT_PAGE",
    "EXPORT_REQUIRED",
    "LIST_PAGE",
    "MODIFY_PAGE",
    "SAVE_BUTTON",
    "SEARCH_FORM",
    "SEARCH_PAGE",
    "TECHNICAL_FIELDS",
    "Organisation",
    "SocleConnector",
    "SocleSession",
]


class SocleConnector(SocleListing, Connector):
    """Reads and writes agents' forms as an administrator would, organisation by organisation."""

    name = NAME

    # -- one agent -----------------------------------------------------------------------

    def _agent_form(self, account: Account) -> tuple[str, Form]:
        path = MODIFY_PAGE.format(id=account.id)
        response, page = self._page(path)
        if response.status_code in REDIRECTS:
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
            raise protocol_error(NAME, f"pas de formulaire « {AGENT_FORM} » sur {path}")
        if not form.has("certificate"):
            raise protocol_error(NAME, "le formulaire de l'agent n'a pas de champ certificat")
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

    def _saved(self, response: requests.Response, what: str) -> str:
        if response.status_code == 200:
            page = parse_page(response.text)
            raise Rejected(
                " ; ".join(page.errors) if page.errors else "Formulaire refusé sans message"
            )
        if response.status_code not in REDIRECTS:
            raise protocol_error(NAME, f"{what} : HTTP {response.status_code}")
        return self._where(response)

    def write_certificate(self, account: Account, pem: str) -> None:
        """Submit the agent's form with `certificate` replaced and every other field as read."""
        path, form = self._agent_form(account)
        target = self._saved(
            self._post(form, path, {"certificate": pem}, write=True), "enregistrement"
        )
        if "/organism/agent/view" not in target:
            raise protocol_error(NAME, f"enregistrement : renvoi inattendu vers {target}")

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
        links = link_ids(page.links if page else (), rf"/organism/agent/create/{org_id}/(\d+)")
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
            raise protocol_error(NAME, f"pas de formulaire « {AGENT_FORM} » sur {path}")
        values = {"lastname": agent.nom, "firstname": agent.prenom, "email": agent.email}
        if pem:
            values["certificate"] = pem
        target = self._saved(self._post(form, path, values, write=True), "création")
        found = re.search(r"/organism/agent/modifyroles/(\d+)", target)
        if not found:
            raise protocol_error(NAME, f"création : renvoi inattendu vers {target}")
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
            raise unavailable(NAME, self.url, exc) from None

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
