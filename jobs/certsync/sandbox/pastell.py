"""Stand-in for Pastell's `utilisateur` API (v2) and its legacy `modif-utilisateur.php` script.

Known (megalis-platform.md §4): paths, the list keyed by id_u, ids as strings, 201 on create,
the error shape and messages, 401 with `WWW-Authenticate: Basic realm="API Pastell"`, 429 with
`Retry-after: 60` against brute force, and the trap: PATCH without a `certificat` file erases
the stored certificate unless `dont_delete_certificate_if_empty=1`. Inferred: the text of the
401 message, the brute-force threshold, the shape of `/api/v2/version`, and that the legacy
script, routed to the same PATCH code, erases the certificate too when no file comes with it.
"""

from __future__ import annotations

import re
import threading

from cryptography import x509

from certsync.sandbox.forms import FormData, parse_form
from certsync.sandbox.server import Request, Response, SandboxCredentials, json_response
from certsync.sandbox.store import SandboxAccount, Store

AUTH_FAILED = "Accès interdit : authentification requise"  # (inference) wording
BAD_CERTIFICATE = "Le certificat ne semble pas être valide"
DUPLICATE_LOGIN = "Un utilisateur avec le même login existe déjà."
BRUTE_FORCE_LIMIT = 20  # (inference) failed logins before 429
_USER = re.compile(r"/api/v2/utilisateur/(\d+)")


def _error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(
        status, {"status": "error", "error-message": message}, headers=headers or []
    )


class PastellApp:
    """Pastell's user API."""

    retry_after_header = "Retry-after"  # spelled so by Pastell

    def __init__(self, store: Store, credentials: SandboxCredentials) -> None:
        self.store = store
        self.credentials = credentials
        self.failed_logins = 0
        self._lock = threading.Lock()

    def _authorised(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        creds = self.credentials
        if header.startswith("Bearer ") and creds.token and header[7:] == creds.token:
            return None
        if creds.basic_ok(header):
            return None
        with self._lock:
            self.failed_logins += 1
            throttled = self.failed_logins > BRUTE_FORCE_LIMIT
        if throttled:
            return _error(429, "Trop de tentatives de connexion", [("Retry-after", "60")])
        return _error(401, AUTH_FAILED, [("WWW-Authenticate", 'Basic realm="API Pastell"')])

    def handle(self, request: Request) -> Response:
        """Route one request."""
        refused = self._authorised(request)
        if refused is not None:
            return refused
        path, method = request.path, request.method
        if path == "/api/v2/version" and method == "GET":
            return json_response(
                200,
                {
                    "version": "4.1.18",
                    "revision": "sandbox",
                    "version_complete": "Version 4.1.18 - sandbox",
                },
            )
        if path == "/api/v2/utilisateur":
            if method == "GET":
                with self.store.lock:
                    listing = {
                        a.id: {
                            "id_u": a.id,
                            "login": a.extra.get("login", a.email),
                            "email": a.email,
                            "active": True,
                        }
                        for a in self.store.accounts.values()
                    }
                return json_response(200, listing)
            if method == "POST":
                return self._create(parse_form(request))
            return _error(405, "Méthode non autorisée")
        if path == "/api/modif-utilisateur.php" and method == "POST":
            form = parse_form(request)
            return self._update(form.get("id_u"), form, legacy=True)
        match = _USER.fullmatch(path)
        if match:
            if method == "GET":
                return self._detail(match.group(1))
            if method == "PATCH":
                return self._update(match.group(1), parse_form(request), legacy=False)
            return _error(405, "Méthode non autorisée")
        return _error(404, f"Ressource {path} non trouvée")

    @staticmethod
    def _view(account: SandboxAccount) -> dict[str, object]:
        return {
            "id_u": account.id,
            "login": account.extra.get("login", account.email),
            "nom": account.nom,
            "prenom": account.prenom,
            "email": account.email,
            "certificat": account.certificate or "",
            "id_e": account.extra.get("id_e", "0"),
            "active": True,
        }

    def _detail(self, id_u: str) -> Response:
        with self.store.lock:
            account = self.store.accounts.get(id_u)
            if account is None:
                return _error(404, f"L'utilisateur n'existe pas : {{id_u={id_u}}}")
            return json_response(200, self._view(account))

    @staticmethod
    def _certificate(form: FormData) -> tuple[str | None, Response | None]:
        raw = form.files.get("certificat")
        if raw is None:
            return None, None
        try:
            x509.load_pem_x509_certificate(raw)
        except ValueError:
            return None, _error(400, BAD_CERTIFICATE)
        return raw.decode("ascii", errors="replace"), None

    def _create(self, form: FormData) -> Response:
        login = form.get("login")
        if not login or not form.get("email"):
            return _error(400, "Le login et l'email sont obligatoires")
        certificate, problem = self._certificate(form)
        if problem is not None:
            return problem
        with self.store.mutate():
            if any(a.extra.get("login", a.email) == login for a in self.store.accounts.values()):
                return _error(409, DUPLICATE_LOGIN)
            account = self.store.add(
                form.get("email"),
                form.get("nom"),
                form.get("prenom"),
                extra={"login": login, "id_e": form.get("id_e", "0")},
            )
            if certificate is not None:
                account.certificate = certificate
                account.writes += 1
            view = self._view(account)
        return json_response(201, view)

    def _update(self, id_u: str, form: FormData, *, legacy: bool) -> Response:
        certificate, problem = self._certificate(form)
        if problem is not None:
            return problem
        with self.store.mutate():
            account = self.store.accounts.get(id_u)
            if account is None:
                return _error(404, f"L'utilisateur n'existe pas : {{id_u={id_u}}}")
            for field, attr in (("nom", "nom"), ("prenom", "prenom"), ("email", "email")):
                if form.get(field):
                    setattr(account, attr, form.get(field))
            if form.get("login"):
                account.extra["login"] = form.get("login")
            if certificate is not None:
                account.certificate = certificate
                account.writes += 1
            elif form.get("dont_delete_certificate_if_empty") != "1" and account.certificate:
                # The trap (UserUpdateService): no file means "remove the certificate". PHP
                # never fills $_FILES for PATCH, so a v2 PATCH always erases it.
                account.certificate = None
                account.deletions += 1
            view = self._view(account)
        view["result"] = "ok"
        return json_response(200, view)

    def seed(self, email: str, nom: str, prenom: str, id: str = "") -> None:
        """Create an account at start (from --accounts)."""
        with self.store.mutate():
            if self.store.by_email(email) is None:
                self.store.add(email, nom, prenom, id=id, extra={"login": email, "id_e": "1"})
