"""The importer's file rules: limits, header, per-field patterns and messages read from the
`.properties` catalogues, and the line → agent conversion, as `megalis-bretagne/myec3-socle`
(`pages/organism/agent/export/Import.onValidate`, `Report.checkFileContent`, `isFieldMatchRegex`,
`convertImportToListOfAgents`, `CsvHelper`, `UnaccentLetter`) and Tapestry 5.8.2's
`PropertiesFileParserImpl` (`java.util.Properties.load`) apply them."""

from __future__ import annotations

import csv
import email.parser
import email.policy
import io
import re
import unicodedata
from typing import Any

from certsync.sandbox.server import Request

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


def validate_upload(org: dict[str, Any], upload: tuple[str, str, bytes] | None) -> list[str]:
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


def agent_of(line: dict[str, str]) -> dict[str, str]:
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


def agent_values(agent: dict[str, str], org: dict[str, Any]) -> dict[str, str]:
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


def upload_part(request: Request) -> tuple[str, str, bytes] | None:
    """(file name, Content-Type, bytes) of the `uploadedFile` part."""
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
