"""The socle's agent pages: Modify (with "Vérifier le certificat" and a disabled agent sent to
View), Create, View and the roles tab, as `megalis-bretagne/myec3-socle`
(`pages/organism/agent/Modify`, `Create`, `View`, `ModifyRoles`) answers them."""

from __future__ import annotations

import html
from collections.abc import Mapping

from certsync.sandbox.forms import parse_pairs
from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle.agent_form import AgentForm
from certsync.sandbox.socle.data import EXTRA_DEFAULTS
from certsync.sandbox.socle.layout import (
    NO_CERTIFICATE,
    SUCCESS_MESSAGE,
    Session,
    error_page,
    html_page,
    redirect,
)
from certsync.sandbox.store import SandboxAccount


class AgentPages(AgentForm):
    """Modify, Create, View and ModifyRoles."""

    def _editable(
        self, session: Session, account_id: str, *, check_enabled: bool
    ) -> SandboxAccount | Response:
        """Modify.onActivate: the agent, or the page to answer instead."""
        account = self._account(account_id)
        if account is None:
            return error_page("agentProfile is null")
        if check_enabled and account.extra.get("user_enabled") != "true":
            return redirect(f"/organism/agent/view/{account.id}")
        if not self._may_manage(session, account.extra["organism"]):
            return redirect("/")
        return account

    def _modify_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        pending, session.modify_pending = session.modify_pending, None
        if pending is not None:
            # Modify.onActivate: with activateOnce TRUE the agent is not reloaded from the id;
            # the page shows the flash agentProfile, whichever id the URL names.
            held = self._account(pending[0])
            if held is not None:
                return self._render_modify(session, held, pending[1], [])
        if not groups[0]:
            return redirect("/organism/agent/view")
        account = self._editable(session, groups[0], check_enabled=True)
        if isinstance(account, Response):
            return account
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
            kind="modify",
            context=account.id,
            org_id=account.extra["organism"],
            values=values,
            errors=errors,
        )
        title = f"{account.prenom} {account.nom}"
        tabs = (
            f'<ul class="tabs"><li class="active"><strong>Informations</strong></li>'
            f'<li><a href="/organism/agent/modifyroles/{account.id}">Services</a></li></ul>'
        )
        return html_page(title, f"<h2>{html.escape(title)}</h2>{tabs}{form}")

    def _checked(
        self, request: Request, page: str, account: SandboxAccount | None
    ) -> tuple[dict[str, str | None], list[str]] | Response:
        """The agent form as submitted to `page`, with its validation errors."""
        posted = self.submitted(request, page)
        if isinstance(posted, Response):
            return posted
        values, controls = posted
        return values, self._validate(values, controls, account)

    def _modify_post(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        context = dict(parse_pairs(request)).get("t:ac", "")
        if not context:
            return redirect("/organism/agent/view")
        pending, session.modify_pending = session.modify_pending, None
        # The activate event runs first on a form submission too (and, with activateOnce
        # TRUE, skips both the reload from t:ac and the enabled check).
        held = pending[0] if pending is not None else context
        account = self._editable(session, held, check_enabled=pending is None)
        if isinstance(account, Response):
            return account
        checked = self._checked(request, "organism/agent/Modify", account)
        if isinstance(checked, Response):
            return checked
        values, errors = checked
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

    def _department(self, session: Session, org_id: str, dept: str) -> Response | None:
        """Create.onActivate: None when the department exists and may be managed."""
        if (
            org_id not in self.organisations
            or dept not in self.organisations[org_id]["departments"]
        ):
            return error_page("organismDepartment is null")
        if not self._may_manage(session, org_id):
            return redirect("/")
        return None

    def _create_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id, dept = groups
        refused = self._department(session, org_id, dept)
        if refused is not None:
            return refused
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
            kind="create",
            context=f"{org_id}/{dept}",
            org_id=org_id,
            values=values,
            errors=errors,
        )
        return html_page("Création d'un utilisateur", f"<h2>Créer un utilisateur</h2>{form}")

    def _create_post(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id, _, dept = dict(parse_pairs(request)).get("t:ac", "").partition("/")
        refused = self._department(session, org_id, dept)
        if refused is not None:
            return refused
        checked = self._checked(request, "organism/agent/Create", None)
        if isinstance(checked, Response):
            return checked
        values, errors = checked
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
