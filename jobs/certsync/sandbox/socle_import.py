"""The socle's "Importer une liste d'utilisateurs" and its report, as pages of the sandbox socle.

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

import csv
import html
import io
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from certsync.sandbox.forms import parse_pairs
from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle import Control, Session, alert, error_page, html_page, redirect

if TYPE_CHECKING:
    from certsync.sandbox.socle import SocleApp

PREFIX = "/organism/agent/export/"
MAX_SIZE = 1_048_576  # GuWebAppConstants.IMPORT_MAX_FILE_SIZE
MAX_LINES = 5000  # GuWebAppConstants.IMPORT_MAX_LINES
ROWS_PER_PAGE = 50  # CreateList/ModifyList/DeleteList.properties rowsPerPage
MIME_TYPES = (  # CsvHelper.getAuthorizedMimeType
    "application/csv-tab-delimited-table",
    "text/csv",
    "application/vnd.ms-excel",
    "text/html",
    "application/octet-stream",
)
# app.properties user-import-header-column-0..11, and Report.properties, as written there.
HEADER_COLUMNS = (
    "civilité prénom nom elu fonction adresse codepostal ville courriel téléphoneportable "
    "téléphonefixe fax"
).split()
REPORT_PROPERTIES = r"""
user-import-column-regex-civilite=NA|MR|MRS
user-import-column-regex-prenom=^[a-zA-Z\\'\-\s\ ,àáâäçèéêëìíîïòóôùúûü]{1,255}$
user-import-column-regex-nom=^[a-zA-Z\\'\-\s\ ,àáâäçèéêëìíîïòóôùúûü]{1,255}$
user-import-column-regex-elu=oui|non
user-import-column-regex-fonction=^.{1,255}
user-import-column-regex-adresse=^.{1,255}
user-import-column-regex-codepostal=^[0-9]{5}$
user-import-column-regex-ville=^.{1,255}
user-import-column-regex-courriel=^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9-.]+\.[a-zA-Z.]{2,5}$
user-import-column-regex-telephoneportable=^[0-9]{10}$
user-import-column-regex-telephonefixe=^[0-9]{10}$
user-import-column-regex-fax=^[0-9]{10}$
user-import-column-required-prenom=1
user-import-column-required-nom=1
user-import-column-required-courriel=1
user-import-column-regex-message-civilite=Le champ civilité doit contenir une des valeurs suivantes : NA, MR, MRS
user-import-column-regex-message-prenom=Le champ prénom doit contenir entre 1 et 255 caractères alphabétiques
user-import-column-regex-message-nom=Le champ nom doit contenir entre 1 et 255 caractères alphabétiques
user-import-column-regex-message-elu=Le champ élu doit contenir une des valeurs suivantes : oui, non
user-import-column-regex-message-fonction=Le champ fonction doit contenir entre 1 et 255 caractères alphabétiques
user-import-column-regex-message-adresse=Syntaxe de l'adresse postale incorrecte
user-import-column-regex-message-codepostal=Le champ code postal doit être composé de 5 chiffres
user-import-column-regex-message-ville=Le champ ville doit contenir entre 1 et 255 caractères alphabétiques
user-import-column-regex-message-courriel=Syntaxe de l'adresse mail incorrecte
user-import-column-regex-message-telephoneportable=Le numéro de téléphone portable doit être composé de 10 chiffres
user-import-column-regex-message-telephonefixe=Le numéro de téléphone fixe doit être composé de 10 chiffres
user-import-column-regex-message-fax=Le numéro de téléphone fax doit être composé de 10 chiffres
"""  # noqa: E501
MESSAGES = {  # Import, Report, Create, ModifyList, DeleteList .properties
    "form-error": "Erreur(s) dans le fichier importé",
    "header-length": "Le fichier ne respecte pas le modèle imposé (nombre de colonnes)",
    "header-title": "Le fichier ne respecte pas le modèle imposé (titre des colonnes)",
    "max-lines": "Le fichier ne doit pas comporter plus de 5000 lignes",
    "min-lines": "Le fichier doit contenir au minimum 2 lignes",
    "mime": "Seuls les fichier CSV peuvent être importés",
    "extension": "Le fichier doit comporter l'extension .csv",
    "size": "Le fichier ne doit pas excéder 1 Mo",
    "validate": "Une erreur est survenue pendant la validation du fichier",
    "file-required": "Ce champ est obligatoire",
    "address": "Merci de renseigner les coordonnées de votre organisme avant de commencer "
    "l'import des utilisateurs.",
    "required": "Le champ {} ne doit pas être vide.",
    "errors": "Le fichier importé comporte {} erreur(s). Veuillez corriger ces erreurs puis "
    "réimporter votre fichier corrigé : ",
    "all-updated": "Toutes vos données sont à jour.",
    "create": "compte(s) existe(nt) dans l'import mais pas sur myec3.",
    "modify": "compte(s) existe(nt) à la fois dans l'import et sur myec3.",
    "delete": "compte(s) existe(nt) sur myec3 mais pas dans votre import.",
    "email-taken": "Cette adresse courriel est déjà utilisée.",
    "username-taken": "Cet identifiant est déjà associé à un autre compte",
    "empty-selected": "Vous devez sélectionner au minimum un utilisateur.",
    "created": "L'agent a été créé avec succès",
    "updated": "Mise à jour des utilisateurs effectuée. Synchronisation en cours...",
    "deleted": "Suppression des utilisateurs effectuée. Synchronisation en cours...",
}
_JAVA_LINE_END = "\n\r\u0085\u2028\u2029"
LIST_PAGES = {  # page, title (page-title), "all" button, its label (app.properties)
    "modify": (
        "ModifyList",
        "Comptes présents dans l'import et sur myec3",
        "updateAll",
        "Tout modifier",
    ),
    "delete": (
        "DeleteList",
        "Comptes présents sur myec3 mais pas dans l'import",
        "deleteAll",
        "Tout supprimer",
    ),
}
IMPORT_CLASS = f"{PREFIX}import"
"""Where `return Import.class` leads: Import's organism is not persisted, so no context."""
REPORT_CLASS = f"{PREFIX}report"
"""Where `return Report.class` leads (Report's organism is not persisted either): then
Report.onActivate() → Import → Index."""


def properties_value(raw: str) -> str:
    """A value as `java.util.Properties.load` gives it (Tapestry feeds it UTF-8 as escapes)."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char != "\\" or i + 1 == len(raw):
            out.append(char)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt == "u":
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
            continue
        # Properties knows t, n, r, f; for every other character the backslash is dropped.
        out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(nxt, nxt))
        i += 2
    return "".join(out)


def _catalogue() -> dict[str, str]:
    values = {}
    for line in REPORT_PROPERTIES.strip().splitlines():
        key, _, raw = line.partition("=")
        values[key] = properties_value(raw)
    return values


def java_regex(pattern: str) -> re.Pattern[str]:
    """A Java pattern for `Matcher.matches()`, with Java's `.` (no line terminator)."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "." and not in_class:
            char = f"[^{_JAVA_LINE_END}]"
        out.append(char)
        i += 1
    return re.compile("".join(out))


CATALOGUE = _catalogue()


def java_trim(value: str) -> str:
    """`String.trim()`: only characters up to U+0020 (a BOM stays)."""
    start, end = 0, len(value)
    while start < end and value[start] <= " ":
        start += 1
    while end > start and value[end - 1] <= " ":
        end -= 1
    return value[start:end]


def equals_ignore_case(a: str, b: str) -> bool:
    """`String.equalsIgnoreCase`."""
    return len(a) == len(b) and all(
        x == y or x.upper() == y.upper() or x.lower() == y.lower()
        for x, y in zip(a, b, strict=True)
    )


def unaccent(value: str) -> str:
    """`UnaccentLetter.unaccentString`: NFD, then every non-ASCII character removed."""
    return "".join(c for c in unicodedata.normalize("NFD", value) if c.isascii())


def field_ok(key: str, value: str) -> bool:
    """`Report.isFieldMatchRegex`."""
    regex = CATALOGUE.get(f"user-import-column-regex-{key}")
    if regex is None:
        return False
    if regex.startswith("^"):
        return java_regex(regex).fullmatch(value) is not None
    return any(equals_ignore_case(java_trim(option), value) for option in regex.split("|"))


def read_records(data: bytes) -> list[list[str]]:
    """CSVReader(InputStreamReader(…, UTF-8), ';').readAll(): no BOM removed."""
    text = data.decode("utf-8", errors="replace")
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=";") if row]


class Refusal(Exception):
    """The report page fails (an exception in onActivate): back to Index."""


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


class ImportPages:
    """The Import, Report, CreateList, Create, ModifyList and DeleteList pages of a SocleApp."""

    def __init__(self, app: SocleApp) -> None:
        self.app = app
        self.store = app.store
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
        upload = _upload_part(request)
        errors = [] if upload is not None else [MESSAGES["file-required"]]
        errors += _validate(org, upload)
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
        if state.errors:
            lines = "".join(
                f"<li>ligne {n}<ul>"
                + "".join(f"<li>{html.escape(m)}</li>" for m in msgs)
                + "</ul></li>"
                for n, msgs in sorted(state.errors.items())
            )
            count = sum(len(m) for m in state.errors.values())
            block = (
                f'<h3>Erreurs détectées</h3><p class="info">'
                f"{html.escape(MESSAGES['errors'].format(count))}</p>"
                f'<div id="report-error"><ul>{lines}</ul></div>'
            )
        elif not state.to_create and not state.to_modify:
            # getIsAllDataUpdated tests agentsToModify twice and never agentsToDelete.
            block = f'<div id="report-success"><p>{MESSAGES["all-updated"]}</p></div>'
        else:
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
            block = f'<div id="report-success"><ul>{items}</ul></div>'
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
        agents = [_agent(line) for line in mapped]
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
            extra.update(_agent_values(agent, org))
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

    def _modify_list(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        ids = self._listed(session, groups[0], "modify")
        return (
            ids
            if isinstance(ids, Response)
            else self._render_list(session, groups[0], "modify", ids, [])
        )

    def _delete_list(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        ids = self._listed(session, groups[0], "delete")
        return (
            ids
            if isinstance(ids, Response)
            else self._render_list(session, groups[0], "delete", ids, [])
        )

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
        account.extra.update(_agent_values(agent, org), username=username)

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


def _validate(org: dict[str, Any], upload: tuple[str, str, bytes] | None) -> list[str]:
    """Import.onValidate (the first failure that throws ends it, with its message)."""
    if not (org.get("postalAddress") and org.get("postalCode") and org.get("city")):
        return [MESSAGES["address"]]
    if upload is None:
        return []
    name, ctype, data = upload
    errors = []
    if len(data) > MAX_SIZE:
        errors.append(MESSAGES["size"])
    if ctype not in MIME_TYPES:
        errors.append(MESSAGES["mime"])
    if "." not in name:
        return [*errors, MESSAGES["validate"]]  # substring(-1) throws: the generic message
    if name[name.rindex(".") :] != ".csv":
        errors.append(MESSAGES["extension"])
    if errors:
        return errors
    records = read_records(data)
    if len(records) > MAX_LINES:
        errors.append(MESSAGES["max-lines"])
    if len(records) < 2:
        return [*errors, MESSAGES["min-lines"]]
    header = records[0]
    if len(header) != len(HEADER_COLUMNS):
        return [*errors, MESSAGES["header-length"]]
    for cell, expected in zip(header, HEADER_COLUMNS, strict=True):
        if not equals_ignore_case(java_trim(cell), expected):
            return [*errors, MESSAGES["header-title"]]
    return errors


def _agent(line: dict[str, str]) -> dict[str, str]:
    """`convertImportToListOfAgents` for one line; `Civility.valueOf` is case-sensitive."""
    civility = line["civilite"]
    if civility and not equals_ignore_case(civility, "NA"):
        if civility not in ("MR", "MRS"):
            raise Refusal
    else:
        civility = ""
    agent = {k: line[k] for k in HEADER_KEYS}
    agent["civilite"] = civility
    agent["elu"] = "true" if equals_ignore_case(line["elu"], "Oui") else "false"
    return agent


HEADER_KEYS = tuple(unaccent(c) for c in HEADER_COLUMNS)


def _agent_values(agent: dict[str, str], org: dict[str, Any]) -> dict[str, str]:
    """The agent form's fields an imported line sets (store keys as SocleApp's).

    An empty address takes the organism's (`setAddressOfAgentToModify`; for a creation,
    `setAddressOfAgentToCreate` tries the department's first, and sandbox departments have
    none); the country is always FR.
    """
    return {
        "civility": agent["civilite"],
        "elected": agent["elu"],
        "function": agent["fonction"],
        "postalAddress": agent["adresse"] or org.get("postalAddress", ""),
        "postalCode": agent["codepostal"] or org.get("postalCode", ""),
        "city": agent["ville"] or org.get("city", ""),
        "country": "FR",
        "cellPhone": agent["telephoneportable"],
        "phone": agent["telephonefixe"],
        "fax": agent["fax"],
    }


def _upload_part(request: Request) -> tuple[str, str, bytes] | None:
    """(file name, Content-Type, bytes) of the `uploadedFile` part."""
    import email.parser
    import email.policy

    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + request.body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "uploadedFile":
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            return part.get_filename() or "", part.get_content_type(), data
    return None
