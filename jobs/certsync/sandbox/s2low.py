"""Stand-in for S²LOW's admin user pages in `api=1` mode (megalis-platform.md §3).

Known: paths and fields, JSON bodies sent as `text/plain` and converted to ISO-8859-1
(`utf8_decode`), HTTP 200 even on errors, the three error shapes, `certificate_hash =
base64(sha1(DER))` and the duplicate rules with their messages, "Erreur d'analyse du
certificat.", the mandatory certificate and authority_id on create. Inferred: which error
uses which shape (validation errors as JSON, certificate parsing as `KO\\n…`), the message and
status of a refused login (the real server identifies the caller by its TLS client certificate,
and HTTP Basic picks an account; over plain HTTP the sandbox requires Basic), the unknown-id
message, and that a modification without a file keeps the stored certificate.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certsync.sandbox.forms import FormData, parse_form
from certsync.sandbox.server import Request, Response, SandboxCredentials
from certsync.sandbox.store import SandboxAccount, Store

PREFIX = "/admin/users/"
DUPLICATE_CERTIFICATE = (
    "Un utilisateur avec les mêmes données de certificat existe déjà. Vous pouvez mettre un "
    "login/mot de passe pour les différencier"
)
DUPLICATE_IDENTITY = (
    "Un utilisateur avec les mêmes informations de connexion et d'identification existe dans "
    "la base S2low"
)
PARSE_ERROR = "Erreur d'analyse du certificat."
CERTIFICATE_REQUIRED = "Le certificat utilisateur est obligatoire"
AUTHORITY_REQUIRED = "authority_id est obligatoire"
AUTH_FAILED = "Échec de l'authentification : login ou mot de passe incorrect"  # (inference)
UNKNOWN_USER = "Utilisateur inconnu"  # (inference)
USER_FIELDS = ("telephone", "status", "authority_id", "authority_group_id", "role", "login")


def _latin1(text: str, status: int = 200) -> Response:
    # utf8_decode(): characters outside Latin-1 become "?".
    return Response(status, text.encode("iso-8859-1", errors="replace"), "text/plain")


def _json(data: object) -> Response:
    return _latin1(json.dumps(data, ensure_ascii=False))


def _error(message: str) -> Response:
    return _json({"status": "error", "error-message": message})


def certificate_hash(der: bytes) -> str:
    """S²LOW's identity of a certificate: base64(sha1(DER))."""
    return base64.b64encode(hashlib.sha1(der).digest()).decode("ascii")


class S2lowApp:
    """S²LOW's admin user pages."""

    retry_after_header = "Retry-After"

    def __init__(self, store: Store, credentials: SandboxCredentials) -> None:
        self.store = store
        self.credentials = credentials

    def handle(self, request: Request) -> Response:
        """Route one request."""
        if request.client_cert is None and not self.credentials.basic_ok(
            request.headers.get("authorization", "")
        ):
            return _latin1(f"KO\n{AUTH_FAILED}\n", 403)
        name = request.path.removeprefix(PREFIX)
        api = request.arg("api") == "1"
        if name == "admin_users.php" and request.method == "GET":
            return self._list(request) if api else self._html("Liste des utilisateurs")
        if name == "admin_user_detail.php" and request.method == "GET":
            return self._detail(request.arg("id")) if api else self._html("Utilisateur")
        if name == "admin_user_edit_handler.php" and request.method == "POST":
            form = parse_form(request)
            if form.get("api") != "1":
                # Without api=1 the handler stores its message in the session and redirects.
                return Response(302, b"", "text/html", [("Location", f"{PREFIX}admin_users.php")])
            return self._edit(form)
        return Response(404, b"<html><body>Not Found</body></html>", "text/html")

    @staticmethod
    def _html(title: str) -> Response:
        body = f"<html><head><title>S2LOW</title></head><body><h1>{title}</h1></body></html>"
        return Response(200, body.encode("iso-8859-1", errors="replace"), "text/html")

    def _list(self, request: Request) -> Response:
        needle = request.arg("name").casefold()
        with self.store.lock:
            rows = [
                {
                    "id": int(a.id),
                    "name": a.nom,
                    "givenname": a.prenom,
                    "email": a.email,
                    "role": a.extra.get("role", "USER"),
                    "status": a.extra.get("status", "1"),
                    "authority_id": a.extra.get("authority_id", "1"),
                    "authority_name": a.extra.get("authority_name", "Commune de Test"),
                }
                for a in self.store.accounts.values()
                if needle in a.nom.casefold()
            ]
        return _json(rows)

    def _detail(self, id: str) -> Response:
        with self.store.lock:
            account = self.store.accounts.get(id)
            if account is None:
                return _error(UNKNOWN_USER)
            same = account.extra.get("certificate_hash", "")
            others = [
                int(a.id)
                for a in self.store.accounts.values()
                if same and a.id != id and a.extra.get("certificate_hash") == same
            ]
            data = {
                "name": account.nom,
                "givenname": account.prenom,
                "email": account.email,
                **{f: account.extra.get(f, "") for f in USER_FIELDS},
                "certificate": account.certificate or "",
                "module": {"1": "RW"},
                "other_id": others,
            }
        return _json(data)

    def _edit(self, form: FormData) -> Response:
        id = form.get("id")
        raw = form.files.get("certificate")
        if not id and raw is None:
            return _error(CERTIFICATE_REQUIRED)
        if not form.get("authority_id"):
            return _error(AUTHORITY_REQUIRED)
        digest = ""
        if raw is not None:
            try:
                der = x509.load_pem_x509_certificate(raw).public_bytes(Encoding.DER)
            except ValueError:
                return _latin1(f"KO\n{PARSE_ERROR}\n")
            digest = certificate_hash(der)
        # auth_method 1 ("certificat à usage individuel") forces the login to ''.
        login = form.get("login") if form.get("auth_method") == "2" else ""
        with self.store.mutate():
            account = self.store.accounts.get(id) if id else None
            if id and account is None:
                return _error(UNKNOWN_USER)
            if digest:
                others = [
                    a
                    for a in self.store.accounts.values()
                    if a is not account and a.extra.get("certificate_hash") == digest
                ]
                if any(not a.extra.get("login") for a in others):
                    return _error(DUPLICATE_CERTIFICATE)
                if any(a.extra.get("login", "") == login for a in others):
                    return _error(DUPLICATE_IDENTITY)
            created = account is None
            if account is None:
                account = self.store.add(form.get("email"))
            self._apply(account, form, login)
            if raw is not None:
                account.certificate = raw.decode("ascii", errors="replace")
                account.extra["certificate_hash"] = digest
                account.writes += 1
            verb = "Création" if created else "Modification"
            who = f"{account.prenom} {account.nom} (id={account.id})"
            message = f"{verb} de l'utilisateur {who}. Résultat ok."
            return _json({"status": "ok", "message": message, "id": int(account.id)})

    @staticmethod
    def _apply(account: SandboxAccount, form: FormData, login: str) -> None:
        account.nom = form.get("name")
        account.prenom = form.get("givenname")
        account.email = form.get("email") or account.email
        for field in USER_FIELDS:
            if field != "login":
                account.extra[field] = form.get(field)
        account.extra["login"] = login

    def seed(self, email: str, nom: str, prenom: str, id: str = "") -> None:
        """Create an account at start (from --accounts)."""
        with self.store.mutate():
            if self.store.by_email(email) is None:
                extra = {
                    "role": "USER",
                    "status": "1",
                    "authority_id": "1",
                    "login": "",
                    "authority_group_id": "",
                    "telephone": "",
                }
                self.store.add(email, nom, prenom, id=id, extra=extra)
