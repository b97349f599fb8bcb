"""Stand-in for S²LOW's admin user pages, written from libriciel/s2low (docs/platforms/s2low.md).

Sources: `public.ssl/admin/users/admin_users.php` (listing, `status` defaults to 1),
`class/User.php` `getUsersList` + `class/DataObject.php` `pagerInit` (pages of `count`, default
`DEFAULT_ITEMS_PER_PAGE` = 10 in `config/config.php`, a page past the end is clamped to the last),
`public.ssl/admin/users/admin_user_detail.php` (detail with `module` and `other_id`),
`controller/AdminUserController.php` `doEditAction`/`doEdit` (edit), `lib/Recuperateur.php`
(`utf8_encode` then `trim` on every POST value when `api` is set), `class/Helpers/RequestHelper.php`
`getVarFromPost` (`utf8_encode` of `perm_<id>`), `model/UserSQL.php` `hasDoublon`, `class/User.php`
`importCert`/`setPerm`/`initPerms`/`canEditUser`, `lib/JSONoutput.php` `display` (json_encode, i.e.
ASCII with `\\uXXXX` and `\\/`, then `utf8_decode`, as `text/plain`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certsync.sandbox.forms import FormData, parse_form
from certsync.sandbox.server import Request, Response, SandboxCredentials
from certsync.sandbox.store import SandboxAccount, Store

PREFIX = "/admin/users/"
DEFAULT_ITEMS_PER_PAGE = 10  # config/config.php
PHP_TRIM = " \t\n\r\0\x0b"
DUPLICATE_CERTIFICATE = (
    "Un utilisateur avec les mêmes données de certificat existe déjà. Vous pouvez mettre un "
    "login/mot de passe pour les différencier"
)
DUPLICATE_IDENTITY = (
    "Un utilisateur avec les mêmes informations de connexion et d'identification existe dans "
    "la base S2low"
)
CERTIFICATE_REQUIRED = "Le certificat utilisateur est obligatoire"
AUTHORITY_REQUIRED = "authority_id est obligatoire"
GROUP_REQUIRED = "Vous devez indiquer un groupe pour créer un administrateur de groupe"
EDIT_UNKNOWN = "Erreur lors de la modification de l'utilisateur"
EDIT_DENIED = "Accès refusé pour la modification de cet utilisateur"
DETAIL_DENIED = "Impossible de d'accéder à cet utilisateur. Accés refusé."
SAVE_FAILED = "Erreur lors de l'enregistrement de l'utilisateur :"
AUTH_FAILED = "Échec de l'authentification"
STATUS_PAGE = "/connexion-status"  # Helpers::getLink('connexion-status')
#: Module::getActiveModulesList (id -> name); the real list comes from the `modules` table.
MODULES = {"1": "actes", "2": "helios", "3": "mail"}
ROLES = ("SADM", "GADM", "ADM", "USER", "ARCH")  # User::ROLES_DESCR
USER_FIELDS = ("login", "telephone", "status", "authority_id", "authority_group_id", "role")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Authority:
    """A collectivité: its group and the modules it may use (Module::getModulesForAuthority)."""

    id: str
    name: str
    group_id: str = ""
    modules: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(MODULES, True))


@dataclass(frozen=True, slots=True)
class Admin:
    """The caller, as `User::authenticate` identifies it from the client certificate."""

    role: str = "ADM"
    authority_id: str = "1"
    group_id: str = ""


def php_json(data: object) -> Response:
    """JSONoutput::display: json_encode (ASCII, `\\uXXXX`, `\\/`), utf8_decode, text/plain."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
    return Response(200, text.encode("ascii"), "text/plain")


def php_error(message: str) -> Response:
    """JSONoutput::displayErrorAndExit."""
    return php_json({"status": "error", "error-message": message})


def certificate_hash(der: bytes) -> str:
    """S²LOW's identity of a certificate: base64(sha1(DER)) (X509Certificate::getBase64Hash)."""
    return base64.b64encode(hashlib.sha1(der).digest()).decode("ascii")


def _raw_form(request: Request) -> FormData:
    """The POST as PHP holds it: byte strings (here: each byte as one Latin-1 character)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return parse_form(request, charset="latin-1")
    text = request.body.decode("ascii", errors="replace")
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    return FormData(dict(pairs))


class S2lowApp:
    """S²LOW's admin user pages for one authenticated administrator."""

    retry_after_header = "Retry-After"

    def __init__(self, store: Store, credentials: SandboxCredentials) -> None:
        self.store = store
        self.credentials = credentials
        self.admin = Admin()
        self.authorities: dict[str, Authority] = {
            "1": Authority("1", "Commune de Test", "1"),
            "2": Authority("2", "Commune de Plouha", "1", {"1": True, "2": False, "3": True}),
            "3": Authority("3", "CCAS de Brest", "1"),
        }

    # -- who may see and edit whom (class/User.php canEditUser, admin_users.php filters) -------

    def _can_edit(self, target: SandboxAccount) -> bool:
        admin, authority = self.admin, self.authorities.get(target.extra.get("authority_id", ""))
        if admin.role == "SADM":
            return True
        if admin.role == "GADM":
            return authority is not None and authority.group_id == admin.group_id != ""
        return admin.role == "ADM" and target.extra.get("authority_id") == admin.authority_id

    def handle(self, request: Request) -> Response:
        """Route one request."""
        name = request.path.removeprefix(PREFIX)
        if request.path == STATUS_PAGE:
            body = f"<html><body><p>{AUTH_FAILED}</p></body></html>"
            return Response(200, body.encode("iso-8859-1"), "text/html")
        if request.client_cert is None and not self.credentials.basic_ok(
            request.headers.get("authorization", "")
        ):
            if name == "admin_users.php":
                # User::authenticate fails: redirect, the message left in the session.
                return Response(302, b"", "text/html", [("Location", STATUS_PAGE)])
            return php_error(AUTH_FAILED)
        if self.admin.role not in ("SADM", "GADM", "ADM"):
            return php_error("Accès refusé")
        if name == "admin_users.php" and request.method == "GET":
            if request.arg("api"):
                return self._list(request)
            return Response(200, b"<html><body><h1>Liste des utilisateurs</h1></body></html>")
        if name == "admin_user_detail.php" and request.method == "GET":
            return self._detail(request.arg("id"))
        if name == "admin_user_edit_handler.php" and request.method == "POST":
            return self._edit(request)
        return Response(404, b"<html><body>Not Found</body></html>", "text/html")

    # -- admin_users.php ------------------------------------------------------------------------

    def _visible(self, account: SandboxAccount, request: Request) -> bool:
        extra, admin = account.extra, self.admin
        authority = self.authorities.get(extra.get("authority_id", ""))
        wanted = request.arg("authority")
        if admin.role == "SADM":
            if wanted.isdigit() and extra.get("authority_id") != wanted:
                return False
        elif admin.role == "GADM":
            if authority is None or authority.group_id != admin.group_id:
                return False
            if wanted and extra.get("authority_id") != wanted:
                wanted_authority = self.authorities.get(wanted)
                if wanted_authority is not None and wanted_authority.group_id == admin.group_id:
                    return False
        elif extra.get("authority_id") != admin.authority_id:
            return False
        role = request.arg("role")
        if role and extra.get("role") != role:
            return False
        needle = request.arg("name")
        if needle and needle.casefold() not in account.nom.casefold():
            return False
        # `status` absent: users.status=1; `status=` (empty): no filter at all.
        status = request.query.get("status", ["1"])[0]
        return not status or extra.get("status", "1") == status

    def _list(self, request: Request) -> Response:
        count_arg, page_arg = request.arg("count"), request.arg("page")
        count = int(count_arg) if count_arg.isdigit() and int(count_arg) > 0 else None
        per_page = count or DEFAULT_ITEMS_PER_PAGE
        with self.store.lock:
            # ORDER BY users.name ASC (ties: PostgreSQL's order is unspecified; here by id).
            rows = sorted(
                (a for a in self.store.accounts.values() if self._visible(a, request)),
                key=lambda a: (a.nom, int(a.id)),
            )
            pages = -(-len(rows) // per_page)
            page = int(page_arg) if page_arg.isdigit() and int(page_arg) > 0 else 1
            page = min(page, pages)  # pagerCountRecords: a page past the end is the last one
            offset = max(page - 1, 0) * per_page
            out = [
                {
                    "id": a.id,
                    "name": a.nom,
                    "givenname": a.prenom,
                    "email": a.email,
                    "role": a.extra.get("role", "USER"),
                    "status": a.extra.get("status", "1"),
                    "authority_id": a.extra.get("authority_id", ""),
                    "authority_name": self._authority_name(a),
                }
                for a in rows[offset : offset + per_page]
            ]
        return php_json(out)

    def _authority_name(self, account: SandboxAccount) -> str:
        authority = self.authorities.get(account.extra.get("authority_id", ""))
        return authority.name if authority else ""

    # -- admin_user_detail.php -------------------------------------------------------------------

    def _perms_view(self, account: SandboxAccount) -> dict[str, str]:
        """User::initPerms then getPerm per active module ('' where no permission row)."""
        role = account.extra.get("role", "")
        group_or_super = role == "SADM" or (
            role == "GADM" and account.extra.get("authority_group_id", "").isdigit()
        )
        authority = self.authorities.get(account.extra.get("authority_id", ""))
        allowed = authority.modules if authority else {}
        out = {}
        for module_id in MODULES:
            perm = account.extra.get(f"perm:{module_id}", "")
            out[module_id] = perm if perm and (group_or_super or allowed.get(module_id)) else ""
        return out

    def _detail(self, id: str) -> Response:
        with self.store.lock:
            account = self.store.accounts.get(id)
            if self.admin.role != "SADM" and (account is None or not self._can_edit(account)):
                return php_error(DETAIL_DENIED)
            if account is None:
                empty = dict.fromkeys(("name", "givenname", "email", "certificate"), "")
                return php_json({**empty, **dict.fromkeys(USER_FIELDS, "")})
            digest = account.extra.get("certificate_hash", "")
            holders = [a for a in self.store.accounts.values() if digest and self._holds(a, digest)]
            holders.sort(key=lambda a: (a.nom, a.prenom, a.extra.get("login", "")))
            data: dict[str, object] = {
                "name": account.nom,
                "givenname": account.prenom,
                "login": account.extra.get("login", ""),
                "email": account.email,
                "telephone": account.extra.get("telephone", ""),
                "status": account.extra.get("status", "1"),
                "authority_id": account.extra.get("authority_id", ""),
                "authority_group_id": account.extra.get("authority_group_id", ""),
                "role": account.extra.get("role", ""),
                "certificate": account.certificate or "",
                "module": self._perms_view(account),
                "other_id": [a.id for a in holders] or False,
            }
        return php_json(data)

    @staticmethod
    def _holds(account: SandboxAccount, digest: str) -> bool:
        return account.extra.get("certificate_hash") == digest

    # -- AdminUserController::doEditAction -------------------------------------------------------

    def _edit(self, request: Request) -> Response:
        raw = _raw_form(request)
        query_api = request.arg("api")
        api = bool(raw.get("api") or query_api)

        def fail(message: str) -> Response:
            if api:
                return php_error(message)
            return Response(302, b"", "text/html", [("Location", f"{PREFIX}admin_users.php")])

        def value(name: str) -> str:
            """Recuperateur::get: '' for PHP-empty, utf8_encode (api) then trim."""
            text = raw.get(name)
            if text in ("", "0") and name != "status":
                return ""
            decoded = text if raw.get("api") else text.encode("latin-1").decode("utf-8", "replace")
            return decoded.strip(PHP_TRIM)

        def perm(name: str) -> str:
            """RequestHelper::getVarFromPost: utf8_encode when api=1, no trim."""
            text = raw.get(name)
            if raw.get("api") == "1":
                return text
            return text.encode("latin-1").decode("utf-8", "replace")

        id = raw.get("id")
        if id and not id.isdigit():
            return fail("Le paramètre id doit être un entier")
        upload = raw.files.get("certificate")
        with self.store.mutate():
            him = self.store.accounts.get(id) if id else None
            if id and him is None:
                return fail(EDIT_UNKNOWN)
            if him is not None and not self._can_edit(him):
                return fail(EDIT_DENIED)
            problem = self._check(raw, value, him, upload)
            if problem:
                return fail(problem)
            return self._save(raw, value, perm, him, upload, api)

    def _check(
        self,
        raw: FormData,
        value: Callable[[str], str],
        him: SandboxAccount | None,
        upload: bytes | None,
    ) -> str:
        """AdminUserController::doEdit (before anything is stored)."""
        if raw.get("api") and not value("authority_id").isdigit():
            return AUTHORITY_REQUIRED
        if value("role") == "GADM" and not value("authority_group_id"):
            return GROUP_REQUIRED
        digest = him.extra.get("certificate_hash", "") if him is not None else ""
        if upload is not None:
            parsed = _parse(upload)
            digest = parsed[1] if parsed else ""
        if not digest:
            return CERTIFICATE_REQUIRED
        login = "" if value("auth_method") == "1" else value("login")
        user_id = him.id if him is not None else "0"
        holders = [
            a.id
            for a in self.store.accounts.values()
            if a.extra.get("certificate_hash") == digest
            and (not login or a.extra.get("login", "") == login)
        ]
        if holders and (len(holders) > 1 or holders[0] != user_id):
            return DUPLICATE_IDENTITY  # UserSQL::hasDoublon
        return ""

    def _save(
        self,
        raw: FormData,
        value: Callable[[str], str],
        perm: Callable[[str], str],
        him: SandboxAccount | None,
        upload: bytes | None,
        api: bool,
    ) -> Response:
        """AdminUserController::doEditAction: every field rebuilt from the form sent."""
        new = him is None
        fields: dict[str, str] = dict(him.extra) if him is not None else {}
        login = "" if value("auth_method") == "1" else value("login")
        status = value("status")
        fields.update(
            telephone=value("telephone"),
            status=str(int(status)) if status.lstrip("-").isdigit() else "0",
            login=login,
        )
        refused = self._authority_and_role(fields, value, new)
        if refused:
            return php_error(refused)
        name, givenname, email = value("name"), value("givenname"), value("email")
        errors = _identity_errors(name, givenname, email)
        if errors:
            text = "\n".join([SAVE_FAILED, *errors]) + "\n"
            return php_error(text.replace("\n", "<br />\n"))
        certificate, digest = (
            (him.certificate, fields.get("certificate_hash", "")) if him else (None, "")
        )
        if upload is not None:
            parsed = _parse(upload)
            assert parsed is not None  # checked in _check
            certificate, digest = upload.decode("ascii", errors="replace"), parsed[1]
            problem = self._import_cert(him, digest, login, name, givenname)
            if problem:
                return php_error("\n".join([SAVE_FAILED, problem]).replace("\n", "<br />\n"))
        self._permissions(fields, perm)
        if him is None:
            him = self.store.add(email)
        him.nom, him.prenom, him.email = name, givenname, email
        him.extra = fields
        if upload is not None:
            him.certificate = certificate
            him.extra["certificate_hash"] = digest
            him.writes += 1
        verb = "Création" if new else "Modification"
        message = f"{verb} de l'utilisateur {givenname} {name} (id={him.id}). Résultat ok."
        if not api:
            return Response(302, b"", "text/html", [("Location", f"{PREFIX}admin_user_edit.php")])
        return php_json({"status": "ok", "message": message, "id": him.id})

    def _authority_and_role(
        self, fields: dict[str, str], value: Callable[[str], str], new: bool
    ) -> str:
        """Authority (kept, or chosen within the caller's reach on creation) and role (never
        above the caller's); the error text, or "" when they are acceptable."""
        admin = self.admin
        if admin.role == "SADM":
            fields["authority_group_id"] = value("authority_group_id")
        if new:
            wanted = value("authority_id")
            if admin.role == "SADM":
                fields["authority_id"] = wanted
            elif admin.role == "GADM":
                authority = self.authorities.get(wanted)
                if authority is None or authority.group_id != admin.group_id:
                    return "La collectivité n'appartient pas au groupe courant"
                fields["authority_id"] = wanted
            else:
                fields["authority_id"] = admin.authority_id
        role = value("role")
        if admin.role != "SADM" and role.upper() in ("SADM", "GADM"):
            role = "ADM"  # admins of a group or an authority cannot grant more
        fields["role"] = role if role in ROLES else "USER"  # User::set('role')
        return "" if fields.get("authority_id") else AUTHORITY_REQUIRED

    def _permissions(self, fields: dict[str, str], perm: Callable[[str], str]) -> None:
        """resetPerms, then setPerm for each module the authority has (missing → NONE)."""
        for key in [k for k in fields if k.startswith("perm:")]:
            del fields[key]
        authority = self.authorities.get(fields["authority_id"])
        him_group_admin = (
            fields["role"] == "GADM" and fields.get("authority_group_id", "").isdigit()
        )
        kinds = {"NONE", "RO", "RW"}
        if fields["role"] == "SADM" or self.admin.role == "SADM":
            kinds.add("GRANT")
        allowed = authority.modules if authority else {}
        for module_id in MODULES:
            if module_id in allowed and (allowed[module_id] or him_group_admin):
                sent = perm(f"perm_{module_id}")
                fields[f"perm:{module_id}"] = sent if sent in kinds else "NONE"

    def _import_cert(
        self, him: SandboxAccount | None, digest: str, login: str, name: str, givenname: str
    ) -> str:
        """User::importCert: the certificate's other holders, by name, givenname, login."""
        holders = sorted(
            (a for a in self.store.accounts.values() if a.extra.get("certificate_hash") == digest),
            key=lambda a: (a.nom, a.prenom, a.extra.get("login", "")),
        )
        if not holders or (him is not None and holders[0].id == him.id):
            return ""
        if not holders[0].extra.get("login"):
            return DUPLICATE_CERTIFICATE
        return "" if login else DUPLICATE_CERTIFICATE

    def seed(self, email: str, nom: str, prenom: str, id: str = "") -> None:
        """Create an active USER of authority 1 at start (from --accounts)."""
        with self.store.mutate():
            if self.store.by_email(email) is None:
                extra = {
                    "role": "USER",
                    "status": "1",
                    "authority_id": "1",
                    "login": "",
                    "authority_group_id": "",
                    "telephone": "",
                    "perm:1": "RW",
                }
                self.store.add(email, nom, prenom, id=id, extra=extra)


def _parse(upload: bytes) -> tuple[x509.Certificate, str] | None:
    """X509Certificate::getInfo: a PEM certificate, or nothing."""
    try:
        cert = x509.load_pem_x509_certificate(upload)
    except ValueError:
        return None
    return cert, certificate_hash(cert.public_bytes(Encoding.DER))


def _identity_errors(name: str, givenname: str, email: str) -> list[str]:
    """User::verify's messages for the e-mail and the two names."""
    errors = []
    if not email:
        errors.append("Adresse électronique doit être présent.")
    elif not _EMAIL.match(email):
        errors.append("Adresse électronique doit être une adresse électronique valide.")
    errors += [
        f"{d} doit être présent." for d, v in (("Nom", name), ("Prénom", givenname)) if not v
    ]
    return errors
