"""Stand-in for the MyEc3 socle's admin pages: login, agent export, agent create/modify forms.

Known from the source (megalis-platform.md §2, §5.2): form `modification_form`, textarea
`certificate` validated with the full-match regex and its message, the stored value kept
verbatim, no uniqueness check, the export's columns, BOM and separator. Inferred: the URLs of
the login (the real one is Keycloak SSO), export and create pages; the redirect after a
successful save (Tapestry's post/redirect/get); the markup around errors (Bootstrap alert).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import secrets
import threading
import urllib.parse

from certsync.connectors.pem import SOCLE_CERTIFICATE_RE
from certsync.sandbox.forms import parse_pairs
from certsync.sandbox.server import Request, Response, SandboxCredentials
from certsync.sandbox.socle_import import ImportPages
from certsync.sandbox.store import SandboxAccount, Store

REGEX_MESSAGE = "Le certificat n'est pas au bon format"
LOGIN_FAILED = "Nom d'utilisateur ou mot de passe invalide."  # Keycloak's French message
FORMDATA_ERROR = (
    "Forms require that the request method be POST and that the t:formdata query parameter "
    "have values."
)
TEXT_FIELDS = (
    "firstname",
    "lastname",
    "email",
    "username",
    "function",
    "phone",
    "cellPhone",
    "fax",
    "postalAddress",
    "postalCode",
    "city",
)
CHECKBOXES = ("elected", "executive")
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
_MODIFY = re.compile(r"/organism/agent/modify/(\d+)")


def _page(title: str, body: str, errors: list[str] | None = None) -> Response:
    alert = ""
    if errors:
        items = "".join(f"<li>{html.escape(e)}</li>" for e in errors)
        alert = f'<div class="alert alert-danger"><ul>{items}</ul></div>'
    text = (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}'
        f"</title></head><body>{alert}{body}</body></html>"
    )
    return Response(200, text.encode(), "text/html;charset=UTF-8")


def _redirect(location: str, cookie: str = "") -> Response:
    headers = [("Location", location)]
    if cookie:
        headers.append(("Set-Cookie", f"JSESSIONID={cookie}; Path=/; HttpOnly"))
    return Response(302, b"", headers=headers)


class SocleApp:
    """The socle's pages."""

    retry_after_header = "Retry-After"

    def __init__(self, store: Store, credentials: SandboxCredentials) -> None:
        self.store = store
        self.credentials = credentials
        self.sessions: set[str] = set()
        self._lock = threading.Lock()
        self.imports = ImportPages(store, credentials.user)

    def _logged_in(self, request: Request) -> bool:
        cookies = request.headers.get("cookie", "")
        found = re.search(r"JSESSIONID=([\w-]+)", cookies)
        with self._lock:
            return bool(found and found.group(1) in self.sessions)

    def handle(self, request: Request) -> Response:
        """Route one request."""
        if request.path == "/login" and request.method == "GET":
            return self._login_page([])
        if request.path == "/login-actions/authenticate" and request.method == "POST":
            return self._authenticate(request)
        if not self._logged_in(request):
            return _redirect("/login")
        if (answer := self.imports.handle(request)) is not None:
            return answer
        if request.path == "/organism/agent/export" and request.method == "GET":
            return self._export()
        if request.path == "/organism/agent/create":
            if request.method == "POST":
                return self._save(None, request)
            return self._form_page(None, {}, [])
        match = _MODIFY.fullmatch(request.path)
        if match:
            with self.store.lock:
                account = self.store.accounts.get(match.group(1))
            if account is None:
                return Response(404, b"<html><body>Page introuvable</body></html>", "text/html")
            if request.method == "POST":
                return self._save(account, request)
            return self._form_page(account, self._values(account), [])
        return Response(404, b"<html><body>Page introuvable</body></html>", "text/html")

    def _login_page(self, errors: list[str]) -> Response:
        code = secrets.token_urlsafe(8)
        body = (
            f'<form id="kc-form-login" method="post" action="/login-actions/authenticate?'
            f'session_code={code}"><input type="text" name="username" value="">'
            '<input type="password" name="password">'
            '<input type="hidden" name="credentialId" value="">'
            '<input type="submit" name="login" value="Connexion"></form>'
        )
        return _page("Connexion", body, errors)

    def _authenticate(self, request: Request) -> Response:
        fields = dict(parse_pairs(request))
        creds = self.credentials
        if (
            creds.user
            and fields.get("username") == creds.user
            and (fields.get("password") == creds.password)
        ):
            session = secrets.token_hex(16)
            with self._lock:
                self.sessions.add(session)
            return _redirect("/", session)
        return self._login_page([LOGIN_FAILED])

    def _export(self) -> Response:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(EXPORT_HEADER)
        with self.store.lock:
            for a in self.store.accounts.values():
                row = dict.fromkeys(EXPORT_HEADER, "")
                row.update(
                    user_id=a.id,
                    user_firstname=a.prenom,
                    user_lastname=a.nom,
                    user_username=a.extra.get("username", a.email),
                    profil_id=a.id,
                    profil_email=a.email,
                    profil_enabled="true",
                    user_civility=a.extra.get("civility", ""),
                    profil_function=a.extra.get("function", ""),
                )
                writer.writerow([row[h] for h in EXPORT_HEADER])
        body = ("\ufeff" + out.getvalue()).encode("utf-8")
        headers = [("Content-Disposition", 'attachment; filename="export_agent.csv"')]
        return Response(200, body, "text/csv; charset=UTF-8", headers)

    @staticmethod
    def _values(account: SandboxAccount) -> dict[str, str]:
        values = dict(account.extra)
        values.update(
            firstname=account.prenom,
            lastname=account.nom,
            email=account.email,
            certificate=account.certificate or "",
        )
        values.setdefault("username", account.email)
        return values

    def _form_page(
        self, account: SandboxAccount | None, values: dict[str, str], errors: list[str]
    ) -> Response:
        form_id = "modification_form" if account else "creation_form"
        action = f"/organism/agent/modify/{account.id}" if account else "/organism/agent/create"
        state = json.dumps({"profil": account.id if account else "new"}).encode()
        formdata = base64.b64encode(state).decode()
        parts = [
            f'<form id="{form_id}" method="post" action="{action}">',
            f'<input type="hidden" name="t:formdata" value="{formdata}">',
        ]
        civility = values.get("civility", "NA")
        options = "".join(
            f'<option value="{v}"{" selected" if v == civility else ""}>{label}</option>'
            for v, label in (("NA", ""), ("MR", "M."), ("MRS", "Mme"))
        )
        parts.append(f'<select name="civility">{options}</select>')
        for name in TEXT_FIELDS:
            value = html.escape(values.get(name, ""), quote=True)
            parts.append(f'<label>{name}</label><input type="text" name="{name}" value="{value}">')
        for name in CHECKBOXES:
            checked = " checked" if values.get(name) == "on" else ""
            parts.append(f'<input type="checkbox" name="{name}"{checked}>')
        cert = html.escape(values.get("certificate", ""))
        # A newline right after <textarea> is dropped by HTML parsers, so it is always safe.
        parts.append(f'<textarea name="certificate" id="certificate" rows="10">\n{cert}</textarea>')
        parts.append('<input type="submit" name="checkCertificate" value="Vérifier le certificat">')
        parts.append('<input type="submit" name="submit" value="Enregistrer"></form>')
        return _page("Modifier l'utilisateur", "".join(parts), errors)

    def _save(self, account: SandboxAccount | None, request: Request) -> Response:
        pairs = parse_pairs(request)
        fields = dict(pairs)
        expected = {"profil": account.id if account else "new"}
        try:
            state = json.loads(base64.b64decode(fields.get("t:formdata", "")))
        except ValueError:
            state = None
        if state != expected:
            return Response(
                500, f"<html><body>{FORMDATA_ERROR}</body></html>".encode(), "text/html"
            )
        # Browsers send blank fields as ''; Tapestry turns them into null.
        certificate = fields.get("certificate", "") or None
        errors = []
        if certificate is not None and not SOCLE_CERTIFICATE_RE.fullmatch(certificate):
            errors.append(REGEX_MESSAGE)
        if "checkCertificate" in fields and certificate is None:
            errors.append("Un certificat est requis pour utiliser cette fonctionnalité.")
        email = fields.get("email", "").strip()
        if account is None and email and self.store.by_email(email) is not None:
            # (inference) the create page refuses an e-mail already used by an agent.
            errors.append("Cette adresse e-mail est déjà utilisée.")
        if errors or "checkCertificate" in fields:
            return self._form_page(account, {**fields, "certificate": certificate or ""}, errors)
        with self.store.mutate():
            if account is None:
                account = self.store.add(email)
            account.prenom = fields.get("firstname", "")
            account.nom = fields.get("lastname", "")
            account.email = email or account.email
            for name in ("civility", *TEXT_FIELDS):
                if name not in {"firstname", "lastname", "email"}:
                    account.extra[name] = fields.get(name, "")
            for name in CHECKBOXES:
                account.extra[name] = "on" if name in fields else ""
            account.certificate = certificate
            if certificate is not None:
                account.writes += 1
        query = urllib.parse.urlencode({"message": "recording-success-message"})
        return _redirect(f"/organism/agent/view/{account.id}?{query}")

    def seed(self, email: str, nom: str, prenom: str, id: str = "") -> None:
        """Create an account at start (from --accounts)."""
        with self.store.mutate():
            if self.store.by_email(email) is None:
                self.store.add(
                    email, nom, prenom, id=id, extra={"username": email, "civility": "NA"}
                )
