"""The socle's "Importer une liste d'utilisateurs" (Import) and its report (Report), as pages of
the sandbox socle written from `megalis-bretagne/myec3-socle`.

Written from `megalis-bretagne/myec3-socle` (master, package `pages/organism/agent/export`):
`Import.java` (`onActivate` clears the session's import, `onValidate`: `checkOrganismAdress`,
the Upload's `required`, size, MIME type, extension, `CsvHelper.countLines`, `checkFileHeaders`),
`Report.java` (`onActivate`, `checkFileContent`, `isFieldMatchRegex`,
`convertImportToListOfAgents`, `constructAgentsListToModify/ToCreate/ToDelete`,
`getIsAllDataUpdated`), `CreateList.java` (grid of 50 rows, action link `create` with the row
index, the agent put in the root department), `Create.java` (`onValidate`: e-mail and username
taken; `onSuccess`, `setAddressOfAgentToCreate`, `nextPage`), `ModifyList.java`
(`prepareAndUpdateAgent`, `updateAll` or the rows ticked), `DeleteList.java` (`onDeleteAll` or
the rows ticked: `AgentProfileServiceImpl.softDelete`, see `SocleApp.soft_delete`), their `.tml`
templates and `.properties` catalogues, with `myec3-socle-core/.../util/CsvHelper.java` (opencsv,
`;`, UTF-8, lines of the wrong length skipped, first record removed),
`.../tools/UnaccentLetter.java` and `JpaAgentProfileDao.findAllAgentProfilesByOrganism` (enabled
profiles of the organism). The messages and patterns are read from the properties text below
the way Tapestry 5.8.2 reads a catalogue (`PropertiesFileParserImpl`: UTF-8, then
`java.util.Properties.load`).

The pages are routes of `SocleApp` (`add_route`): same session, same rights
(`AbstractPage.hasRights` → `SocleApp._may_manage`), forms rendered and read as the socle's
other Tapestry forms (`form_open`, signed `t:formdata`, `t:ac`, `submitted`); the pages'
`@Persist` fields live in the HTTP session (`Session.pages`). Agents are the socle's agents
(`SocleApp.agent_extra`, extra keys `organism`, `organismDepartment`, `user_enabled`,
`profil_enabled`, `elected` "true"/"false", civility "" for none), organisations are
`SocleApp.organisations` with their address.

Inferred: URLs follow Tapestry's page names (`organism/agent/export/createList` →
`/organism/agent/export/createlist/{id}`, event links `…/createlist.create/{row}?t:ac={id}`);
the lookup by e-mail is exact (the real one is a JPQL `in`, the database collation decides); a
line of the file is never a multi-line quoted record (opencsv 2.0's escape handling is not
modelled). Not modelled: the filer copy of the last import ("Utiliser le dernier import"),
roles and the welcome e-mail of Create, the grids' filter and pages after the first.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from certsync.sandbox.forms import parse_pairs
from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle.import_rules import (
    CATALOGUE,
    HEADER_COLUMNS,
    IMPORT_CLASS,
    MESSAGES,
    PREFIX,
    Refusal,
    agent_of,
    field_ok,
    read_records,
    unaccent,
    upload_part,
    validate_upload,
)
from certsync.sandbox.socle.layout import Control, Session, alert, html_page, redirect

if TYPE_CHECKING:
    from certsync.sandbox.socle.app import SocleApp


@dataclass(slots=True)
class ImportState:
    """The importer pages' `@Persist` fields in one HTTP session (Report's and the lists')."""

    data: bytes = b""
    analysed: bool = False
    errors: dict[int, list[str]] = field(default_factory=dict)
    to_create: list[dict[str, str]] = field(default_factory=list)
    to_modify: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    """(account id, the file's values) — Report sets them on the entities it loaded."""
    to_delete: list[str] = field(default_factory=list)
    """Account ids."""
    creating: dict[str, str] | None = None
    """Create's `agentToCreate`, with the department CreateList gave it."""
    success: str = ""
    """AbstractImport's flash `successMessage`."""


class ReportPages:
    """The importer's shared lookups, and its Import and Report pages."""

    def __init__(self, app: SocleApp) -> None:
        self.app = app
        self.store = app.store

    # -- shared ----------------------------------------------------------------------------

    @staticmethod
    def state(session: Session) -> ImportState:
        """This session's import (Report's @Persist fields)."""
        state = session.pages.setdefault("organism/agent/export/Report", ImportState())
        assert isinstance(state, ImportState)
        return state

    def members(self, org_id: str) -> list[str]:
        """`findAllAgentProfilesByOrganism`: ids of the organism's enabled profiles."""
        with self.store.lock:
            return [
                a.id
                for a in self.store.accounts.values()
                if a.extra.get("organism") == org_id and a.extra.get("profil_enabled") == "true"
            ]

    def _organism(self, session: Session, org_id: str) -> dict[str, Any] | Response:
        """`organismService.findOne(id)` then `hasRights`: the organism, or Index."""
        org = self.app.organisations.get(org_id)
        if org is None or not self.app._may_manage(session, org_id):
            return redirect("/")
        return org

    @staticmethod
    def _context(request: Request) -> str:
        """The page activation context a form or event link carries (`t:ac`)."""
        posted = dict(parse_pairs(request)).get("t:ac")
        return posted if posted is not None else request.arg("t:ac")

    def _to_index(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        """onActivate() without context: `return Index.class`."""
        return redirect("/")

    def _to_import(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        """Report.onActivate() without context: `return Import.class`."""
        return redirect(IMPORT_CLASS)

    # -- Import.java -----------------------------------------------------------------------

    def _import_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org = self._organism(session, groups[0])
        if isinstance(org, Response):
            return org
        # onActivate(id): clearAllPersistentParams (this page's and Report's).
        session.pages.pop("organism/agent/export/Report", None)
        return self._render_import(groups[0], [])

    def _render_import(self, org_id: str, errors: list[str]) -> Response:
        controls = [Control("uploadedFile", "upload", True), Control("submit_0", "submit")]
        form = self.app.form_open(
            "agent_import_form",
            f"{PREFIX}import.agent_import_form",
            "organism/agent/export/Import",
            controls,
            org_id,
        ).replace(' method="post"', ' method="post" enctype="multipart/form-data"', 1)
        body = (
            "<h2>Importer des utilisateurs</h2>"
            + form
            + alert(MESSAGES["form-error"], errors)
            + '<fieldset class="import"><legend>Faire un nouvel import</legend>'
            '<p><input type="file" name="uploadedFile" id="uploadedFile"></p>'
            '<div class="form-actions"><p><input type="submit" name="submit_0" id="submit_0" '
            'value="Importer le fichier"></p></div></fieldset></form>'
            f'<ul class="links"><li class="back"><a href="/organism/agent/listagents/{org_id}">'
            "Retour à la liste des utilisateurs</a></li></ul>"
        )
        return html_page("Importer des utilisateurs", body)

    def _upload(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = self._context(request)
        org = self._organism(session, org_id)
        if isinstance(org, Response):
            return org
        posted = self.app.submitted(request, "organism/agent/export/Import")
        if isinstance(posted, Response):
            return posted
        upload = upload_part(request)
        errors = [] if upload is not None else [MESSAGES["file-required"]]
        errors += validate_upload(org, upload)
        if errors or upload is None:
            return self._render_import(org_id, errors)
        session.pages["organism/agent/export/Report"] = ImportState(data=upload[2])
        return redirect(f"{PREFIX}report/{org_id}")

    # -- Report.java -----------------------------------------------------------------------

    def _report(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = groups[0]
        state = self.state(session)
        if org_id not in self.app.organisations or not state.data:
            return redirect(IMPORT_CLASS)
        try:
            self._analyse(org_id, state, session)
        except Refusal:
            session.pages.pop("organism/agent/export/Report", None)
            return redirect("/")
        org = self._organism(session, org_id)
        if isinstance(org, Response):
            return org
        success, state.success = state.success, ""
        message = f'<p class="success">{html.escape(success)}</p>' if success else ""
        block = _errors_block(state) if state.errors else _summary_block(org_id, state)
        body = f"<h2>Analyse du fichier</h2>{message}<fieldset>{block}</fieldset>"
        return html_page("Analyse du fichier", body)

    def _analyse(self, org_id: str, state: ImportState, session: Session) -> None:
        if state.analysed:
            return
        records = read_records(state.data)
        width = len(records[0])
        keys = [unaccent(h).lower() for h in records[0]]
        mapped = [dict(zip(keys, r, strict=True)) for r in records if len(r) == width][1:]
        for number, line in enumerate(mapped, start=1):
            errors = []
            for column in HEADER_COLUMNS:
                key = unaccent(column)
                value = line.get(key.lower())
                if value is None:
                    raise Refusal  # data.isEmpty() on null
                if not value:
                    if CATALOGUE.get(f"user-import-column-required-{key}") == "1":
                        errors.append(MESSAGES["required"].format(key))
                elif not field_ok(key, value):
                    errors.append(CATALOGUE[f"user-import-column-regex-message-{key}"])
            if errors:
                state.errors[number] = errors
        state.analysed = True
        if state.errors:
            return
        agents = [agent_of(line) for line in mapped]
        members = self.members(org_id)
        by_email = {a["courriel"]: a for a in agents}
        with self.store.lock:
            emails = {m: self.store.accounts[m].email for m in members}
            logged = {
                a.id
                for a in self.store.accounts.values()
                if a.extra.get("username") == session.username
            }
        state.to_modify = [(m, by_email[emails[m]]) for m in members if emails[m] in by_email]
        modified = {emails[m].lower() for m, _ in state.to_modify}
        state.to_create = [a for a in agents if a["courriel"].lower() not in modified]
        kept = {m for m, _ in state.to_modify}
        state.to_delete = [m for m in members if m not in kept and m not in logged]


def _errors_block(state: ImportState) -> str:
    """Report.tml's error block: the file's errors by line, and their count."""
    lines = "".join(
        f"<li>ligne {n}<ul>" + "".join(f"<li>{html.escape(m)}</li>" for m in msgs) + "</ul></li>"
        for n, msgs in sorted(state.errors.items())
    )
    count = sum(len(m) for m in state.errors.values())
    return (
        f'<h3>Erreurs détectées</h3><p class="info">'
        f"{html.escape(MESSAGES['errors'].format(count))}</p>"
        f'<div id="report-error"><ul>{lines}</ul></div>'
    )


def _summary_block(org_id: str, state: ImportState) -> str:
    """Report.tml's success block: all up to date, or the three lists with their links."""
    if not state.to_create and not state.to_modify:
        # getIsAllDataUpdated tests agentsToModify twice and never agentsToDelete.
        return f'<div id="report-success"><p>{MESSAGES["all-updated"]}</p></div>'
    items = "".join(
        f"<li>{len(rows)} {html.escape(MESSAGES[kind])} "
        f'<a href="{PREFIX}{page}/{org_id}">{html.escape(label)}</a></li>'
        for kind, page, label, rows in (
            (
                "create",
                "createlist",
                "Voulez-vous ajouter des utilisateurs?",
                state.to_create,
            ),
            (
                "modify",
                "modifylist",
                "Voulez-vous mettre à jour ces utilisateurs?",
                state.to_modify,
            ),
            (
                "delete",
                "deletelist",
                "Voulez-vous supprimer des utilisateurs?",
                state.to_delete,
            ),
        )
        if rows
    )
    return f'<div id="report-success"><ul>{items}</ul></div>'
