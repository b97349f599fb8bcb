"""Stand-in for Pastell's API, from megalis-bretagne/pastell 4.0.x (docs/platforms/pastell.md).

Sources: `api/HttpApi.php` `dispatchThrow` (legacy `*.php` scripts mapped by
`getAPINameFromLegacyScript`, `utf8_encode_array` of their fields, a v2 PATCH body read with
`parse_str`, error statuses, 429 with `Retry-after: 60`), `api/UtilisateurAPIController.php`
(`get` lists `UtilisateurListe::getAllUtilisateurSimple($id_e)`: the users whose base entity is
`id_e`, nothing below it; `patch` erases the certificate when no file comes, unless
`dont_delete_certificate_if_empty`), `api/EntiteAPIController.php` (`get` on
`RoleUtilisateur::getAllEntiteWithFille`, `getInfo` with `entite_fille`),
`api/ApiAuthentication.php` + `src/Service/LoginAttemptLimit.php` (5 attempts a minute per
REMOTE_ADDR, fixed window, reset on success), `lib/JSONoutput.php` `sendJson` (json_encode,
pretty-printed for v2).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass

from cryptography import x509

from certsync.sandbox.forms import FormData, parse_form
from certsync.sandbox.server import Request, Response, SandboxCredentials
from certsync.sandbox.store import SandboxAccount, Store

AUTH_FAILED = "Accès interdit"  # ApiAuthentication::getUtilisateurIdThrow
DISABLED = "Votre compte a été désactivé"
BAD_CERTIFICATE = "Le certificat ne semble pas être valide"
DUPLICATE_LOGIN = "Un utilisateur avec le même login existe déjà."
FORBIDDEN = "Acces interdit"  # (not verified) BaseAPIController::checkDroit's wording
LOGIN_ATTEMPTS_PER_MINUTE = 5  # LoginAttemptLimit::RATE_LIMIT_LOGIN_ATTEMPT_PER_MINUTE
_USER = re.compile(r"/api/v2/utilisateur/(\d+)(?:/(activate|deactivate))?")
_ENTITY = re.compile(r"/api/v2/entite/(\d+)")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Legacy scripts of the user API this stand-in routes (HttpApi::getAPINameFromLegacyScript).
LEGACY = {
    "modif-utilisateur.php": "patch",
    "detail-utilisateur.php": "get",
    "list-utilisateur.php": "get",
    "list-entite.php": "get",
}


@dataclass(frozen=True, slots=True)
class Entity:
    """One `entite` row."""

    id_e: str
    denomination: str
    entite_mere: str = "0"
    siren: str = ""
    type: str = "collectivite"
    is_active: bool = True


class PhpError(Exception):
    """An exception HttpApi::dispatch turns into a status and `{"status":"error",…}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def send_json(data: object, *, pretty: bool = True, status: int = 200) -> Response:
    """JSONoutput::sendJson: json_encode (ASCII `\\uXXXX`, `\\/`), pretty for v2."""
    text = json.dumps(data, ensure_ascii=True, indent=4 if pretty else None)
    if not pretty:
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    body = text.replace("/", "\\/").encode("ascii")
    return Response(status, body, "application/json; charset=utf-8")


def _php_strings(data: object) -> object:
    """HttpApi::string_encode_array (legacy answers): every scalar through strval."""
    if isinstance(data, dict):
        return {str(k): _php_strings(v) for k, v in data.items()}
    if isinstance(data, list):
        return {str(i): _php_strings(v) for i, v in enumerate(data)}
    if isinstance(data, bool):
        return "1" if data else ""
    return "" if data is None else str(data)


class PastellApp:
    """Pastell's user and entity API for one administrator."""

    retry_after_header = "Retry-after"  # spelled so by HttpApi::dispatch

    def __init__(self, store: Store, credentials: SandboxCredentials) -> None:
        self.store = store
        self.credentials = credentials
        #: The administrator's role is on this entity (with its descendants, entite_ancetre).
        self.admin_entity = "1"
        self.entities: dict[str, Entity] = {
            e.id_e: e
            for e in (
                Entity("1", "Syndicat mixte Mégalis Bretagne", "0", "253514491"),
                Entity("2", "Commune de Plouha", "1", "212202407"),
                Entity("3", "Commune de Brest", "1", "212900195"),
                Entity("4", "CCAS de Brest", "3", "262900419"),
            )
        }
        self._attempts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    # -- ApiAuthentication --------------------------------------------------------------------

    def _consume_attempt(self, address: str) -> bool:
        """LoginAttemptLimit::isLoginAttemptAuthorized: fixed window of one minute."""
        now = time.monotonic()
        with self._lock:
            start, used = self._attempts.get(address, (now, 0))
            if now - start >= 60:
                start, used = now, 0
            self._attempts[address] = (start, used + 1)
            return used < LOGIN_ATTEMPTS_PER_MINUTE

    def _authenticate(self, request: Request) -> None:
        address = "127.0.0.1"  # REMOTE_ADDR: the sandbox only listens on loopback
        header = request.headers.get("authorization", "")
        creds = self.credentials
        if header.startswith("Bearer ") or header.startswith("Basic "):
            if not self._consume_attempt(address):
                raise PhpError(429, "Rate Limit Exceeded")
            if (header.startswith("Bearer ") and creds.token and header[7:] == creds.token) or (
                creds.basic_ok(header)
            ):
                with self._lock:
                    self._attempts.pop(address, None)  # resetRateLimit
                return
        raise PhpError(401, AUTH_FAILED)

    # -- routing (HttpApi::dispatchThrow) -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route one request; exceptions become HttpApi::dispatch's answers."""
        legacy = request.path.endswith(".php")
        try:
            self._authenticate(request)
            return self._route(request, legacy)
        except PhpError as exc:
            status = exc.status
            if legacy and status == 400:
                status = 200  # a plain Exception sets no status on the legacy API
            headers = []
            if status == 401:
                headers.append(("WWW-Authenticate", 'Basic realm="API Pastell"'))
            if status == 429:
                headers.append(("Retry-after", "60"))
            answer = send_json({"status": "error", "error-message": exc.message}, status=status)
            answer.headers.extend(headers)
            return answer

    def _route(self, request: Request, legacy: bool) -> Response:
        method, path = request.method.lower(), request.path
        if legacy:
            script = path.rsplit("/", 1)[-1]
            if script not in LEGACY:
                raise PhpError(404, f"Impossible de trouver le script {script}")
            fields = self._legacy_request(request)
            method = LEGACY[script]
            target = {
                "modif-utilisateur.php": f"utilisateur/{fields.fields.get('id_u', '')}",
                "detail-utilisateur.php": f"utilisateur/{fields.fields.get('id_u', '')}",
                "list-utilisateur.php": "utilisateur",
                "list-entite.php": "entite",
            }[script]
            result = self._call(method, "/api/v2/" + target, fields)
            return send_json(_php_strings(result), pretty=False)
        if method not in ("get", "post", "patch", "delete"):
            raise PhpError(405, "Cette méthode n'est pas utilisable sur l'API Pastell")
        if method == "patch":
            # parse_str(php://input): urlencoded pairs only; $_FILES stays empty on PATCH.
            text = request.body.decode("utf-8", errors="replace")
            form = FormData(dict(urllib.parse.parse_qsl(text, keep_blank_values=True)))
        elif method == "post":
            form = parse_form(request)
        else:
            form = FormData({k: v[0] for k, v in request.query.items()})
        result = self._call(method, path, form)
        if path == "/api/v2/version":
            return send_json(result)
        return send_json(result, status=201 if method == "post" else 200)

    @staticmethod
    def _legacy_request(request: Request) -> FormData:
        """$_REQUEST (GET and POST) and $_FILES, every field through utf8_encode_array."""
        raw = parse_form(request, charset="latin-1")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            text = request.body.decode("ascii", errors="replace")
            raw = FormData(
                dict(urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="latin-1"))
            )
        query = {k: v[0] for k, v in request.query.items()}
        # utf8_encode of a byte string = its bytes read as Latin-1 code points, which `raw`
        # already holds: an UTF-8 "é" (C3 A9) becomes "Ã©".
        return FormData({**query, **raw.fields}, raw.files)

    def _call(self, method: str, path: str, form: FormData) -> object:
        if path == "/api/v2/version" and method == "get":
            return {
                "version": "4.0.14",
                "revision": "sandbox",
                "last_changed_date": "",
                "extensions_versions_accepted": [],
                "version_complete": "Version 4.0.14 - sandbox",
            }
        if path == "/api/v2/entite" and method == "get":
            return self._entities()
        match = _ENTITY.fullmatch(path)
        if match and method == "get":
            return self._entity(match.group(1))
        if path == "/api/v2/utilisateur":
            if method == "get":
                return self._list(form.get("id_e") or "0")
            if method == "post":
                return self._create(form)
        match = _USER.fullmatch(path)
        if match:
            id_u, action = match.group(1), match.group(2)
            if method == "get" and not action:
                return self._detail(id_u)
            if method == "patch" and not action:
                return self._patch(id_u, form)
            if method == "post" and action:
                return self._activation(id_u, action == "activate")
        raise PhpError(404, f"Ressource {path} non trouvée")

    # -- rights ---------------------------------------------------------------------------------

    def _managed(self, id_e: str) -> bool:
        """Whether the admin's role entity is `id_e` or one of its ancestors (entite_ancetre)."""
        seen = set()
        while id_e not in seen:
            if id_e == self.admin_entity:
                return True
            seen.add(id_e)
            entity = self.entities.get(id_e)
            if entity is None:
                return False
            id_e = entity.entite_mere
        return False

    def _check_right(self, id_e: str) -> None:
        if not self._managed(id_e):
            raise PhpError(403, FORBIDDEN)

    # -- entities -------------------------------------------------------------------------------

    def _entities(self) -> list[dict[str, object]]:
        rows = [e for e in self.entities.values() if self._managed(e.id_e)]
        rows.sort(key=lambda e: (int(e.entite_mere), e.denomination))
        return [
            {
                "id_e": e.id_e,
                "denomination": e.denomination,
                "siren": e.siren,
                "type": e.type,
                "centre_de_gestion": "0",
                "entite_mere": e.entite_mere,
                "is_active": e.is_active,
            }
            for e in rows
        ]

    def _entity(self, id_e: str) -> dict[str, object]:
        entity = self.entities.get(id_e)
        if entity is None:
            raise PhpError(404, f"L'entité {id_e} n'a pas été trouvée")
        self._check_right(id_e)
        children = [{"id_e": e.id_e} for e in self.entities.values() if e.entite_mere == id_e]
        return {
            "id_e": entity.id_e,
            "denomination": entity.denomination,
            "siren": entity.siren,
            "type": entity.type,
            "entite_mere": entity.entite_mere,
            "entite_fille": children,
            "centre_de_gestion": "0",
            "is_active": entity.is_active,
        }

    # -- users ----------------------------------------------------------------------------------

    @staticmethod
    def _login(account: SandboxAccount) -> str:
        return account.extra.get("login", account.email)

    def _list(self, id_e: str) -> list[dict[str, object]]:
        self._check_right(id_e)
        with self.store.lock:
            return [
                {
                    "id_u": a.id,
                    "login": self._login(a),
                    "email": a.email,
                    "active": a.extra.get("is_enabled", "1") == "1",
                }
                for a in self.store.accounts.values()
                if a.extra.get("id_e", "1") == id_e  # WHERE id_e = ?, children not included
            ]

    def _view(self, account: SandboxAccount) -> dict[str, object]:
        return {
            "id_u": account.id,
            "login": self._login(account),
            "nom": account.nom,
            "prenom": account.prenom,
            "email": account.email,
            "certificat": account.certificate or "",
            "id_e": account.extra.get("id_e", "1"),
            "active": account.extra.get("is_enabled", "1") == "1",
        }

    def _existing(self, id_u: str) -> SandboxAccount:
        account = self.store.accounts.get(id_u)
        if account is None:
            raise PhpError(404, f"L'utilisateur n'existe pas : {{id_u={id_u}}}")
        return account

    def _detail(self, id_u: str) -> dict[str, object]:
        with self.store.lock:
            account = self._existing(id_u)
            self._check_right(account.extra.get("id_e", "1"))
            return self._view(account)

    @staticmethod
    def _certificate(form: FormData) -> str | None:
        raw = form.files.get("certificat")
        if raw is None:
            return None
        try:
            x509.load_pem_x509_certificate(raw)
        except ValueError:
            raise PhpError(400, BAD_CERTIFICATE) from None
        return raw.decode("ascii", errors="replace")

    def _validate(self, id_u: str, login: str, email: str, nom: str, prenom: str) -> None:
        """UserValidator: names present, e-mail valid, login unique."""
        if not nom:
            raise PhpError(400, "Le nom est obligatoire")
        if not prenom:
            raise PhpError(400, "Le prénom est obligatoire")
        if not _EMAIL.match(email):
            raise PhpError(400, "Votre adresse email ne semble pas valide")
        if any(self._login(a) == login and a.id != id_u for a in self.store.accounts.values()):
            raise PhpError(409, DUPLICATE_LOGIN)

    def _patch(self, id_u: str, form: FormData) -> dict[str, object]:
        """UtilisateurAPIController::patch (v2 PATCH and the legacy modif-utilisateur.php)."""
        with self.store.mutate():
            account = self._existing(id_u)
            id_e = form.get("id_e") or account.extra.get("id_e", "1")
            self._check_right(id_e)
            merged = {
                "login": self._login(account),
                "nom": account.nom,
                "prenom": account.prenom,
                "email": account.email,
            }
            for key in merged:
                if key in form.fields:
                    merged[key] = form.fields[key]
            certificate = self._certificate(form)
            self._validate(id_u, merged["login"], merged["email"], merged["nom"], merged["prenom"])
            account.nom, account.prenom, account.email = (
                merged["nom"],
                merged["prenom"],
                merged["email"],
            )
            account.extra["login"] = merged["login"]
            account.extra["id_e"] = id_e
            if certificate is not None:
                account.certificate = certificate
                account.writes += 1
            elif not form.get("dont_delete_certificate_if_empty") and account.certificate:
                account.certificate = None  # removeCertificat
                account.deletions += 1
            view = self._view(account)
        view["result"] = "ok"
        return view

    def _create(self, form: FormData) -> dict[str, object]:
        id_e = form.get("id_e") or "0"
        self._check_right(id_e)
        certificate = self._certificate(form)
        with self.store.mutate():
            login, email = form.get("login"), form.get("email")
            self._validate("", login, email, form.get("nom"), form.get("prenom"))
            account = self.store.add(
                email, form.get("nom"), form.get("prenom"), extra={"login": login, "id_e": id_e}
            )
            if certificate is not None:
                account.certificate = certificate
                account.writes += 1
            return self._view(account)

    def _activation(self, id_u: str, enable: bool) -> dict[str, object]:
        with self.store.mutate():
            account = self._existing(id_u)
            self._check_right(account.extra.get("id_e", "1"))
            account.extra["is_enabled"] = "1" if enable else "0"
            return self._view(account)

    def seed(self, email: str, nom: str, prenom: str, id: str = "") -> None:
        """Create an enabled user of entity 1 at start (from --accounts)."""
        with self.store.mutate():
            if self.store.by_email(email) is None:
                extra = {"login": email, "id_e": "1", "is_enabled": "1"}
                self.store.add(email, nom, prenom, id=id, extra=extra)
