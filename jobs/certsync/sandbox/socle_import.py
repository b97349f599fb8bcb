"""The socle's "Importer une liste d'utilisateurs" and its report, on the sandbox store.

Written from `megalis-bretagne/myec3-socle` v0.3.6, package `pages/organism/agent/export`:
`Import.java` (onValidate: organism address, size, MIME type, extension, `countLines`, header),
`Report.java` (`checkFileContent`, `isFieldMatchRegex`, `convertImportToListOfAgents`,
`constructAgentsListToModify/ToCreate/ToDelete`), `CreateList.java` + `Create.java` (one agent
at a time), `ModifyList.java` (`prepareAndUpdateAgent`, "Tout modifier"), `DeleteList.java`
(`onDeleteAll`: `AgentProfileServiceImpl.softDelete`, i.e. the profile is disabled), with
`myec3-socle-core/.../util/CsvHelper.java` (opencsv, `;`, UTF-8, lines of the wrong length
skipped, first record removed) and `.../tools/UnaccentLetter.java`. The messages and patterns
are read from the properties text below the way Tapestry 5.8.2 reads a catalogue
(`PropertiesFileParserImpl`: UTF-8, then `java.util.Properties.load`).

Inferred: URLs follow Tapestry's page names (`organism/agent/export/createList` →
`/organism/agent/export/createlist/{id}`, event links `…createlist.create/{row}`); the lookup by
e-mail is exact (the real one is a JPQL `in`, the database collation decides); a line of the
file is never a multi-line quoted record (opencsv 2.0's escape handling is not modelled).

Store conventions (SandboxAccount.extra): `organism_id`, `enabled` ("false" once disabled), and
the agent form's field names (`civility`, `function`, `postalAddress`, `postalCode`, `city`,
`cellPhone`, `phone`, `fax`, `elected` "on"/"", `username`, `country`).
"""

from __future__ import annotations

import csv
import html
import io
import re
import threading
import unicodedata
from dataclasses import dataclass, field

from certsync.sandbox.forms import parse_form
from certsync.sandbox.server import Request, Response
from certsync.sandbox.store import SandboxAccount, Store

PREFIX = "/organism/agent/export/"
MAX_SIZE = 1_048_576  # GuWebAppConstants.IMPORT_MAX_FILE_SIZE
MAX_LINES = 5000  # GuWebAppConstants.IMPORT_MAX_LINES
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
"""
MESSAGES = {
    "header-length": "Le fichier ne respecte pas le modèle imposé (nombre de colonnes)",
    "header-title": "Le fichier ne respecte pas le modèle imposé (titre des colonnes)",
    "max-lines": "Le fichier ne doit pas comporter plus de 5000 lignes",
    "min-lines": "Le fichier doit contenir au minimum 2 lignes",
    "mime": "Seuls les fichier CSV peuvent être importés",
    "extension": "Le fichier doit comporter l'extension .csv",
    "size": "Le fichier ne doit pas excéder 1 Mo",
    "validate": "Une erreur est survenue pendant la validation du fichier",
    "address": "Merci de renseigner les coordonnées de votre organisme avant de commencer "
    "l'import des utilisateurs.",
    "required": "Le champ {} ne doit pas être vide.",
    "regex": "Le champ {} est refusé par le modèle.",
    "create": "compte(s) existe(nt) dans l'import mais pas sur myec3.",
    "modify": "compte(s) existe(nt) à la fois dans l'import et sur myec3.",
    "delete": "compte(s) existe(nt) sur myec3 mais pas dans votre import.",
    "username": "Cet identifiant est déjà utilisé.",
}
_PAGE = re.compile(
    r"/organism/agent/export/(import|report|createlist|modifylist|deletelist|create)/(\d+)"
)
_CREATE_LINK = re.compile(r"/organism/agent/export/createlist\.create/(\d+)/(\d+)")
_JAVA_LINE_END = "\n\r\u0085\u2028\u2029"


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
class Organism:
    """An organism with the address the import requires (`checkOrganismAdress`)."""

    id: str
    label: str
    postal_address: str = ""
    postal_code: str = ""
    city: str = ""


@dataclass(slots=True)
class ImportState:
    """What Report and the list pages keep for one organism (`@Persist`, filer file)."""

    data: bytes = b""
    analysed: bool = False
    errors: dict[int, list[str]] = field(default_factory=dict)
    to_create: list[dict[str, str]] = field(default_factory=list)
    to_modify: list[tuple[SandboxAccount, dict[str, str]]] = field(default_factory=list)
    to_delete: list[SandboxAccount] = field(default_factory=list)


class ImportPages:
    """The import, report, create, modify and delete pages of one sandbox socle."""

    def __init__(self, store: Store, logged_user: str) -> None:
        self.store = store
        self.logged_user = logged_user
        self.organisms: dict[str, Organism] = {}
        self.states: dict[str, ImportState] = {}
        self._lock = threading.Lock()

    def add_organism(self, organism: Organism) -> None:
        """Declare an organism (the sandbox has no organism pages)."""
        self.organisms[organism.id] = organism

    def members(self, organism_id: str) -> list[SandboxAccount]:
        """`findAllAgentProfilesByOrganism`: enabled agents of the organism."""
        with self.store.lock:
            return [
                a
                for a in self.store.accounts.values()
                if a.extra.get("organism_id") == organism_id and a.extra.get("enabled") != "false"
            ]

    def handle(self, request: Request) -> Response | None:
        """Answer a request for one of the import pages, or None when it is not one."""
        link = _CREATE_LINK.fullmatch(request.path)
        if link:
            return self._create_link(link.group(1), int(link.group(2)))
        match = _PAGE.fullmatch(request.path)
        if match is None:
            return None
        page, org_id = match.groups()
        organism = self.organisms.get(org_id)
        if organism is None:
            return _redirect("/")
        with self._lock:
            state = self.states.setdefault(org_id, ImportState())
            if page == "import":
                if request.method == "POST":
                    return self._upload(organism, request)
                return self._import_page(organism, [])
            if page == "report":
                return self._report(organism, state)
            if page == "createlist":
                return self._create_list(organism, state)
            if page == "create":
                return self._create(organism, state, request)
            if page == "modifylist":
                return self._modify_list(organism, state, request)
            return self._delete_list(organism, state, request)

    # Import.java
    def _import_page(self, organism: Organism, errors: list[str]) -> Response:
        body = (
            f'<form id="agent_import_form" method="post" enctype="multipart/form-data" '
            f'action="{PREFIX}import/{organism.id}">'
            '<input type="hidden" name="t:formdata" value="H4sIAAAAAAAAAA==">'
            '<input type="file" name="uploadedFile">'
            '<input type="submit" name="submit_0" value="Importer le fichier"></form>'
        )
        return _page("Importer des utilisateurs", body, errors)

    def _upload(self, organism: Organism, request: Request) -> Response:
        form = parse_form(request)
        if "t:formdata" not in form.fields:
            return Response(500, b"Forms require the t:formdata parameter.", "text/html")
        errors = self._validate(organism, request)
        if errors:
            return self._import_page(organism, errors)
        if "uploadedFile" not in form.files:
            return _redirect(f"{PREFIX}import/{organism.id}")
        self.states[organism.id] = ImportState(data=form.files["uploadedFile"])
        return _redirect(f"{PREFIX}report/{organism.id}")

    def _validate(self, organism: Organism, request: Request) -> list[str]:
        if not (organism.postal_address and organism.postal_code and organism.city):
            return [MESSAGES["address"]]
        upload = _upload_part(request)
        if upload is None:
            return []
        name, ctype, data = upload
        errors = []
        if len(data) > MAX_SIZE:
            errors.append(MESSAGES["size"])
        if ctype not in MIME_TYPES:
            errors.append(MESSAGES["mime"])
        if "." not in name:
            return [MESSAGES["validate"]]  # substring(-1) throws: the generic message
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

    # Report.java
    def _report(self, organism: Organism, state: ImportState) -> Response:
        if not state.data:
            return _redirect(f"{PREFIX}import/{organism.id}")
        try:
            self._analyse(organism, state)
        except Refusal:
            self.states.pop(organism.id, None)
            return _redirect("/")
        if state.errors:
            items = "".join(
                f'<li class="line-error">Ligne {n} : {html.escape(" ; ".join(msgs))}</li>'
                for n, msgs in sorted(state.errors.items())
            )
            count = sum(len(m) for m in state.errors.values())
            body = (
                f'<p class="info">Le fichier importé comporte {count} erreur(s).</p>'
                f"<ul>{items}</ul>"
            )
            return _page("Analyse du fichier", body, [])
        links = (
            ("createlist", "Ajouter des utilisateurs", len(state.to_create), "create"),
            ("modifylist", "Modifier des utilisateurs", len(state.to_modify), "modify"),
            ("deletelist", "Supprimer des utilisateurs", len(state.to_delete), "delete"),
        )
        body = "".join(
            f'<p id="report-{kind}">{n} {MESSAGES[kind]} '
            f'<a href="{PREFIX}{page}/{organism.id}">{label} ( {n} )</a></p>'
            for page, label, n, kind in links
        )
        return _page("Analyse du fichier", body, [])

    def _analyse(self, organism: Organism, state: ImportState) -> None:
        if state.analysed:
            return
        state.analysed = True
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
                    errors.append(MESSAGES["regex"].format(key))
            if errors:
                state.errors[number] = errors
        if state.errors:
            return
        agents = [_agent(line) for line in mapped]
        members = self.members(organism.id)
        emails = {a["courriel"] for a in agents}
        by_email = {a["courriel"]: a for a in agents}
        state.to_modify = [(m, by_email[m.email]) for m in members if m.email in emails]
        modified = {m.email.lower() for m, _ in state.to_modify}
        state.to_create = [a for a in agents if a["courriel"].lower() not in modified]
        kept = {m.id for m, _ in state.to_modify}
        state.to_delete = [m for m in members if m.id not in kept and m.email != self.logged_user]

    # CreateList.java, Create.java
    def _create_list(self, organism: Organism, state: ImportState) -> Response:
        rows = "".join(
            f"<tr><td>{html.escape(a['prenom'])}</td><td>{html.escape(a['nom'])}</td>"
            f'<td>{html.escape(a["courriel"])}</td><td><a class="create" '
            f'href="{PREFIX}createlist.create/{organism.id}/{i}">Créer</a></td></tr>'
            for i, a in enumerate(state.to_create)
        )
        return _page("Comptes à créer", f"<table>{rows}</table>", [])

    def _create_link(self, org_id: str, index: int) -> Response:
        with self._lock:
            state = self.states.get(org_id)
            if state is None or index >= len(state.to_create):
                return _redirect(f"{PREFIX}createlist/{org_id}")
            state.to_create.insert(0, state.to_create.pop(index))
        return _redirect(f"{PREFIX}create/{org_id}")

    def _create(self, organism: Organism, state: ImportState, request: Request) -> Response:
        if not state.to_create:
            return _redirect(f"{PREFIX}report/{organism.id}")
        agent = state.to_create[0]
        if request.method != "POST":
            body = (
                f'<form id="agent_create_form" method="post" action="{PREFIX}create/'
                f'{organism.id}"><input type="hidden" name="t:formdata" value="H4sI">'
                f"<p>{html.escape(agent['prenom'])} {html.escape(agent['nom'])} "
                f"&lt;{html.escape(agent['courriel'])}&gt;</p>"
                '<input type="submit" name="submit_0" value="Enregistrer"></form>'
            )
            return _page("Créer un agent", body, [])
        with self.store.mutate():
            if self.store.by_email(agent["courriel"]) is not None:
                # Create.onValidate: profileService.usernameAlreadyExists(email)
                return _page("Créer un agent", "", [MESSAGES["username"]])
            account = self.store.add(agent["courriel"], agent["nom"], agent["prenom"])
            account.extra.update(_extra(agent, organism, username=agent["courriel"]))
        state.to_create.pop(0)
        target = "createlist" if state.to_create else "report"
        return _redirect(f"{PREFIX}{target}/{organism.id}")

    # ModifyList.java
    def _modify_list(self, organism: Organism, state: ImportState, request: Request) -> Response:
        if request.method == "POST" and "updateAll" in parse_form(request).fields:
            with self.store.mutate():
                for account, agent in state.to_modify:
                    _apply(account, agent, organism, self.store)
            state.to_modify = []
            return _redirect(f"{PREFIX}report/{organism.id}")
        return _page("Comptes à modifier", _list_form(organism, "modifylist", "updateAll"), [])

    # DeleteList.java
    def _delete_list(self, organism: Organism, state: ImportState, request: Request) -> Response:
        if not state.to_delete:
            return _redirect(f"{PREFIX}report/{organism.id}")
        if request.method == "POST" and "deleteAll" in parse_form(request).fields:
            with self.store.mutate():
                for account in state.to_delete:
                    account.extra["enabled"] = "false"  # softDelete → deactivateProfile
            state.to_delete = []
            return _redirect(f"{PREFIX}report/{organism.id}")
        rows = "".join(
            f'<tr class="to-delete"><td>{html.escape(a.prenom)}</td><td>{html.escape(a.nom)}'
            f"</td><td>{html.escape(a.email)}</td></tr>"
            for a in state.to_delete
        )
        form = _list_form(organism, "deletelist", "deleteAll")
        return _page("Comptes présents sur myec3 mais pas dans l'import", rows + form, [])


def _list_form(organism: Organism, page: str, button: str) -> str:
    label = {"updateAll": "Tout modifier", "deleteAll": "Tout supprimer"}[button]
    return (
        f'<form id="list_agents_form" method="post" action="{PREFIX}{page}/{organism.id}">'
        '<input type="hidden" name="t:formdata" value="H4sI">'
        f'<input type="submit" name="{button}" value="{label}"></form>'
    )


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
    agent["elu"] = "on" if equals_ignore_case(line["elu"], "Oui") else ""
    return agent


HEADER_KEYS = tuple(unaccent(c) for c in HEADER_COLUMNS)


def _extra(agent: dict[str, str], organism: Organism, *, username: str) -> dict[str, str]:
    return {
        "organism_id": organism.id,
        "enabled": "true",
        "username": username,
        "civility": agent["civilite"],
        "elected": agent["elu"],
        "function": agent["fonction"],
        "postalAddress": agent["adresse"] or organism.postal_address,
        "postalCode": agent["codepostal"] or organism.postal_code,
        "city": agent["ville"] or organism.city,
        "country": "FR",
        "cellPhone": agent["telephoneportable"],
        "phone": agent["telephonefixe"],
        "fax": agent["fax"],
    }


def _apply(
    account: SandboxAccount, agent: dict[str, str], organism: Organism, store: Store
) -> None:
    """`constructAgentsListToModify` + `prepareAndUpdateAgent`: the file's values are written."""
    username = account.extra.get("username", account.email)
    if not equals_ignore_case(account.email, username):
        taken = any(
            a.extra.get("username", a.email) == account.email
            for a in store.accounts.values()
            if a is not account
        )
        if not taken:
            username = account.email
    account.prenom = agent["prenom"]
    account.nom = agent["nom"]
    account.extra.update(_extra(agent, organism, username=username))


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


def _page(title: str, body: str, errors: list[str]) -> Response:
    alert = ""
    if errors:
        items = "".join(f"<li>{html.escape(e)}</li>" for e in errors)
        alert = f'<div class="alert alert-danger"><ul>{items}</ul></div>'
    text = (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body>{alert}{body}</body></html>"
    )
    return Response(200, text.encode(), "text/html;charset=UTF-8")


def _redirect(location: str) -> Response:
    return Response(302, b"", headers=[("Location", location)])
