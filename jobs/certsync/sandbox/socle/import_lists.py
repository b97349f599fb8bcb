"""The importer's lists and actions: CreateList and Create (one agent at a time), ModifyList and
DeleteList (the rows ticked or all), as `megalis-bretagne/myec3-socle`
(`pages/organism/agent/export/CreateList`, `Create`, `ModifyList`, `DeleteList`,
`AgentProfileServiceImpl.softDelete`) answer them."""

from __future__ import annotations

import html
import urllib.parse
from typing import TYPE_CHECKING, Any

from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle.import_pages import ReportPages
from certsync.sandbox.socle.import_rules import (
    LIST_PAGES,
    MESSAGES,
    PREFIX,
    REPORT_CLASS,
    ROWS_PER_PAGE,
    agent_values,
    equals_ignore_case,
)
from certsync.sandbox.socle.layout import Control, Session, alert, error_page, html_page, redirect

if TYPE_CHECKING:
    from certsync.sandbox.socle.app import SocleApp


class ImportPages(ReportPages):
    """The Import, Report, CreateList, Create, ModifyList and DeleteList pages of a SocleApp."""

    def __init__(self, app: SocleApp) -> None:
        super().__init__(app)
        for method, pattern, handler in (
            ("GET", r"/organism/agent/export/import/?", self._to_index),
            ("GET", r"/organism/agent/export/report/?", self._to_import),
            (
                "GET",
                r"/organism/agent/export/(?:createlist|create|modifylist|deletelist)/?",
                self._to_index,
            ),
            ("GET", r"/organism/agent/export/import/(\d+)", self._import_page),
            ("POST", r"/organism/agent/export/import\.agent_import_form", self._upload),
            ("GET", r"/organism/agent/export/report/(\d+)", self._report),
            ("GET", r"/organism/agent/export/createlist/(\d+)", self._create_list),
            ("GET", r"/organism/agent/export/createlist\.create/(\d+)", self._create_link),
            ("GET", r"/organism/agent/export/create/(\d+)", self._create_page),
            ("POST", r"/organism/agent/export/create\.agent_create_form", self._create_post),
            ("GET", r"/organism/agent/export/modifylist/(\d+)", self._modify_list),
            ("POST", r"/organism/agent/export/modifylist\.list_agents_form", self._modify_post),
            ("GET", r"/organism/agent/export/deletelist/(\d+)", self._delete_list),
            ("POST", r"/organism/agent/export/deletelist\.list_agents_form", self._delete_post),
        ):
            app.add_route(method, pattern, handler)

    # -- CreateList.java, Create.java ------------------------------------------------------

    def _create_list(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = groups[0]
        if org_id not in self.app.organisations:
            return redirect("/")
        state = self.state(session)
        if not state.analysed or state.errors:
            return redirect(REPORT_CLASS)
        org = self._organism(session, org_id)
        if isinstance(org, Response):
            return org
        state.creating = None  # createAgentPage.clearPersistentParams()
        success, state.success = state.success, ""
        query = urllib.parse.urlencode({"t:ac": org_id})
        rows = "".join(
            f"<tr><td>{html.escape(a['prenom'])}</td><td>{html.escape(a['nom'])}</td>"
            f"<td>{html.escape(a['courriel'])}</td><td>"
            f'<a href="{PREFIX}createlist.create/{i}?{query}">Créer l\'utilisateur</a></td></tr>'
            for i, a in enumerate(state.to_create[:ROWS_PER_PAGE])
        )
        body = (
            "<h2>Comptes présents dans l'import mais pas sur la plateforme</h2>"
            + (f'<p class="success">{html.escape(success)}</p>' if success else "")
            + f'<table class="t-data-grid"><tbody>{rows}</tbody></table>'
        )
        return html_page("Comptes à créer", body)

    def _create_link(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = self._context(request)
        org = self._organism(session, org_id)
        if isinstance(org, Response):
            return org
        state = self.state(session)
        index = int(groups[0])
        if index >= len(state.to_create):
            return error_page(f"Index: {index}, Size: {len(state.to_create)}")
        # createAgents(rowIndex): the agent goes to the organism's root department.
        state.creating = dict(state.to_create[index], organismDepartment=org["root"])
        return redirect(f"{PREFIX}create/{org_id}")

    def _create_controls(self) -> list[Control]:
        return [
            Control("organismDepartment", "select", True),
            Control("sendMail", "checkbox"),
            Control("submit_0", "submit"),
        ]

    def _create_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = groups[0]
        if org_id not in self.app.organisations:
            return redirect("/")
        agent = self.state(session).creating
        if agent is None:
            return redirect(REPORT_CLASS)
        org = self._organism(session, org_id)
        if isinstance(org, Response):
            return org
        return self._render_create(org_id, org, agent, [])

    def _render_create(
        self, org_id: str, org: dict[str, Any], agent: dict[str, str], errors: list[str]
    ) -> Response:
        departments: dict[str, str] = org["departments"]
        options = "".join(
            f'<option value="{d}"{" selected" if d == agent["organismDepartment"] else ""}>'
            f"{html.escape(label)}</option>"
            for d, label in departments.items()
        )
        body = (
            "<h2>Créer l'utilisateur</h2>"
            + self.app.form_open(
                "agent_create_form",
                f"{PREFIX}create.agent_create_form",
                "organism/agent/export/Create",
                self._create_controls(),
                org_id,
            )
            + alert(MESSAGES["form-error"], errors)
            + "<fieldset><legend>Rappel des coordonnées</legend>"
            f"<p>{html.escape(agent['prenom'])} {html.escape(agent['nom'])}</p>"
            f'<p class="email">{html.escape(agent["courriel"])}</p></fieldset>'
            "<fieldset><legend>Paramètres à renseigner</legend>"
            f'<p><select name="organismDepartment" id="organismDepartment">{options}</select></p>'
            '<p><input type="checkbox" name="sendMail" id="sendMail" checked="checked"></p>'
            '<div class="form-actions"><p><input type="submit" name="submit_0" id="submit_0" '
            'class="button btnOk" value="Créer le compte utilisateur"></p></div></fieldset></form>'
        )
        return html_page("Créer l'utilisateur", body)

    def _create_post(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = self._context(request)
        if org_id not in self.app.organisations:
            return redirect("/")
        state = self.state(session)
        agent = state.creating
        if agent is None:
            return redirect(REPORT_CLASS)
        org = self._organism(session, org_id)
        if isinstance(org, Response):
            return org
        posted = self.app.submitted(request, "organism/agent/export/Create")
        if isinstance(posted, Response):
            return posted
        values, _ = posted
        department = values.get("organismDepartment")
        errors = []
        if department is None or department not in org["departments"]:
            errors.append("Vous devez fournir une valeur pour Organism Department.")
        email = agent["courriel"]
        with self.store.mutate():
            if self._email_taken(email):
                errors.append(MESSAGES["email-taken"])
            if self._username_taken(email):
                errors.append(MESSAGES["username-taken"])
            if errors:
                return self._render_create(org_id, org, agent, errors)
            assert department is not None
            extra = self.app.agent_extra(org_id, email, department)
            extra.update(agent_values(agent, org))
            self.store.add(email, agent["nom"], agent["prenom"], extra=extra)
        state.to_create = [a for a in state.to_create if a["courriel"] != email]
        state.creating = None
        state.success = MESSAGES["created"]
        target = "createlist" if state.to_create else "report"
        return redirect(f"{PREFIX}{target}/{org_id}")

    def _email_taken(self, email: str) -> bool:
        """`emailAlreadyExists`: another agent profile holds that e-mail."""
        return any(a.email.casefold() == email.casefold() for a in self.store.accounts.values())

    def _username_taken(self, username: str, other_than: str = "") -> bool:
        """`ProfileService.usernameAlreadyExists`."""
        return any(
            a.extra.get("username", "").casefold() == username.casefold() and a.id != other_than
            for a in self.store.accounts.values()
        )

    # -- ModifyList.java, DeleteList.java --------------------------------------------------

    def _listed(self, session: Session, org_id: str, kind: str) -> list[str] | Response:
        """ModifyList/DeleteList.onActivate(id): the ids listed, or where to go instead."""
        if org_id not in self.app.organisations:
            return redirect("/")
        state = self.state(session)
        ids = [m for m, _ in state.to_modify] if kind == "modify" else list(state.to_delete)
        # agentsToModify null → Report; DeleteList also leaves an empty list.
        if not state.analysed or state.errors or (kind == "delete" and not ids):
            return redirect(REPORT_CLASS)
        org = self._organism(session, org_id)
        return org if isinstance(org, Response) else ids

    def _render_list(
        self, session: Session, org_id: str, kind: str, ids: list[str], errors: list[str]
    ) -> Response:
        shown = ids[:ROWS_PER_PAGE]
        page, title, button, label = LIST_PAGES[kind]
        names = _row_names(len(shown))
        controls = [
            Control("masterCheckbox", "checkbox"),
            *(Control(n, "checkbox") for n in names),
            Control(button, "submit"),
            Control("submit_0", "submit"),
        ]
        with self.store.lock:
            accounts = [self.store.accounts[i] for i in shown]
        rows = "".join(
            f'<tr class="to-{kind}"><td>{html.escape(a.prenom)}</td><td>{html.escape(a.nom)}'
            f"</td><td>{html.escape(a.email)}</td>"
            f'<td><input type="checkbox" name="{n}" id="{n}"></td></tr>'
            for a, n in zip(accounts, names, strict=True)
        )
        state = self.state(session)
        success, state.success = state.success, ""
        body = (
            f"<h2>{html.escape(title)}</h2>"
            + (f'<p class="success">{html.escape(success)}</p>' if success else "")
            + self.app.form_open(
                "list_agents_form",
                f"{PREFIX}{page.lower()}.list_agents_form",
                f"organism/agent/export/{page}",
                controls,
                org_id,
            )
            + alert(MESSAGES["form-error"], errors)
            + '<input type="checkbox" name="masterCheckbox" id="masterCheckbox">'
            + f'<table class="t-data-grid"><tbody>{rows}</tbody></table>'
            f'<div class="form-actions"><p><input type="submit" name="{button}" id="{button}" '
            f'value="{label}"><input type="submit" name="submit_0" id="submit_0" '
            'class="button btnOk" value="Valider la sélection"></p></div></form>'
        )
        return html_page(title, body)

    def _list_page(self, session: Session, org_id: str, kind: str) -> Response:
        """ModifyList or DeleteList (`kind`) as first shown."""
        ids = self._listed(session, org_id, kind)
        return (
            ids if isinstance(ids, Response) else self._render_list(session, org_id, kind, ids, [])
        )

    def _modify_list(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        return self._list_page(session, groups[0], "modify")

    def _delete_list(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        return self._list_page(session, groups[0], "delete")

    def _selection(
        self, request: Request, session: Session, kind: str
    ) -> tuple[str, list[str]] | Response:
        """The list form's submission: (organism, ids chosen), or the page to answer."""
        org_id = self._context(request)
        ids = self._listed(session, org_id, kind)
        if isinstance(ids, Response):
            return ids
        page, _, button, _ = LIST_PAGES[kind]
        posted = self.app.submitted(request, f"organism/agent/export/{page}")
        if isinstance(posted, Response):
            return posted
        values, _ = posted
        if values.get(button) is not None:  # onSelectedFromUpdateAll / …DeleteAll
            return org_id, ids
        names = _row_names(min(len(ids), ROWS_PER_PAGE))
        chosen = [i for i, n in zip(ids, names, strict=False) if values.get(n) == "true"]
        if not chosen:
            errors = [MESSAGES["empty-selected"]]
            return self._render_list(session, org_id, kind, ids, errors)
        return org_id, chosen

    def _modify_post(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        selection = self._selection(request, session, "modify")
        if isinstance(selection, Response):
            return selection
        org_id, chosen = selection
        state = self.state(session)
        org = self.app.organisations[org_id]
        files = dict(state.to_modify)
        with self.store.mutate():
            for account_id in chosen:
                self._update(account_id, files[account_id], org)
        state.to_modify = [(m, a) for m, a in state.to_modify if m not in chosen]
        if state.to_modify:
            return redirect(f"{PREFIX}modifylist/{org_id}")
        state.success = MESSAGES["updated"]
        return redirect(f"{PREFIX}report/{org_id}")

    def _update(self, account_id: str, agent: dict[str, str], org: dict[str, Any]) -> None:
        """`constructAgentsListToModify` + `prepareAndUpdateAgent`: the file's values written."""
        account = self.store.accounts[account_id]
        username = account.extra.get("username", "")
        if not equals_ignore_case(account.email, username) and not self._username_taken(
            account.email, account.id
        ):
            username = account.email
        account.prenom = agent["prenom"]
        account.nom = agent["nom"]
        account.extra.update(agent_values(agent, org), username=username)

    def _delete_post(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        selection = self._selection(request, session, "delete")
        if isinstance(selection, Response):
            return selection
        org_id, chosen = selection
        state = self.state(session)
        for account_id in chosen:
            self.app.soft_delete(account_id)
        state.to_delete = [m for m in state.to_delete if m not in chosen]
        if state.to_delete:
            return redirect(f"{PREFIX}deletelist/{org_id}")
        state.success = MESSAGES["deleted"]
        return redirect(f"{PREFIX}report/{org_id}")


def _row_names(count: int) -> list[str]:
    """The grid's row checkboxes as Tapestry names them: slaveCheckbox, slaveCheckbox_0, …"""
    return ["slaveCheckbox"] + [f"slaveCheckbox_{i}" for i in range(count - 1)] if count else []
