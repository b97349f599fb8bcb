"""The socle's data and rights: organisations, agents, administrators and
`AbstractPage.hasRights`, as `megalis-bretagne/myec3-socle` (`ListAgents.disableAgentProfile`,
`AgentProfileServiceImpl.softDelete`, `Organism.getAddress`) keeps them."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from certsync.sandbox.keycloak import KeycloakApp
from certsync.sandbox.server import DEMO_USER, Request, Response, SandboxCredentials
from certsync.sandbox.socle import tapestry
from certsync.sandbox.socle.layout import DISABLED_SUFFIX, Control, Handler, Session
from certsync.sandbox.store import SandboxAccount, Store

AUTO = "auto"
"""The sandbox administrator's role follows the data: the administrator of the only
organisation, or a functional administrator when there are several."""
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


class SocleData:
    """The state every socle page shares: store, SSO, sessions, administrators, routes."""

    retry_after_header = "Retry-After"
    start_page: Handler
    """Index, which a path naming no page renders."""

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

    def _account(self, account_id: str) -> SandboxAccount | None:
        with self.store.lock:
            return self.store.accounts.get(account_id)

    # -- Tapestry forms (socle.tapestry), signed with this app's secret -----------------------

    def form_open(
        self, form_id: str, action: str, page: str, controls: list[Control], context: str
    ) -> str:
        """A Tapestry form's opening: hidden `t:ac` (activation context) and signed `t:formdata`."""
        return tapestry.form_open(self._secret, form_id, action, page, controls, context)

    def submitted(
        self, request: Request, page: str
    ) -> tuple[dict[str, str | None], list[Control]] | Response:
        """Form.executeStoredActions: refuse without t:formdata; each control reads its name."""
        return tapestry.submitted(self._secret, request, page)
