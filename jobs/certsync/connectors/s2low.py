"""Connector to S²LOW's admin user pages in `api=1` mode, over mutual TLS (plus HTTP Basic).

Every behaviour relied on here is sourced in docs/platforms/s2low.md. In short: the user list is
paginated and shows only active users unless `status=` is sent empty; with `api` set, S²LOW
passes every POST value through `utf8_encode` then `trim` (lib/Recuperateur.php), so values are
sent as their Latin-1 bytes and a value Latin-1 cannot carry is never written; the edit handler
rebuilds permissions from the `perm_<module>` fields sent and sets `status` from the form, so
every field is re-sent as read. Answers are JSON in ASCII (`\\uXXXX`) or, from older pages,
ISO-8859-1 text; errors come as JSON `{"status":"error","error-message":…}` or `KO\\n…`.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from certsync.config import PlatformConfig
from certsync.connectors.credentials import Credentials
from certsync.connectors.http import (
    HttpClient,
    RetryPolicy,
    client_for,
    protocol_error,
    unavailable,
)
from certsync.connectors.interface import (
    Account,
    AccountListing,
    AccountSnapshot,
    Connector,
    OrganisationSummary,
    Rejected,
    Survey,
    Unavailable,
)
from certsync.connectors.listing import AccountCollector, count_by_organisation, probe_edit
from certsync.errors import PlatformAuthError, PlatformProtocolError
from certsync.records import Agent

_NAME = "s2low"
LIST = "/admin/users/admin_users.php"
DETAIL = "/admin/users/admin_user_detail.php"
EDIT = "/admin/users/admin_user_edit_handler.php"
#: Rows asked per listing page (`count`, read by DataObject::pagerInit); S²LOW's own default
#: is DEFAULT_ITEMS_PER_PAGE = 10.
PAGE_SIZE = 500
MAX_PAGES = 10_000
PHP_TRIM = " \t\n\r\0\x0b"
#: Fields of admin_user_detail.php, in its order, re-sent on every write.
DETAIL_FIELDS = (
    "name",
    "givenname",
    "login",
    "email",
    "telephone",
    "status",
    "authority_id",
    "authority_group_id",
    "role",
)
FIELD_LABELS = {
    "name": "nom",
    "givenname": "prénom",
    "login": "identifiant (login)",
    "email": "adresse électronique",
    "telephone": "téléphone",
    "role": "rôle",
    "authority_group_id": "groupe",
}
DUPLICATE_MESSAGES = (
    "Un utilisateur avec les mêmes informations de connexion et d'identification existe",
    "Un utilisateur avec les mêmes données de certificat existe déjà",
)


def decode(response: requests.Response) -> str:
    """The body as S²LOW wrote it: ISO-8859-1 (utf8_decode), JSON itself being ASCII."""
    return response.content.decode("iso-8859-1")


def parse_answer(response: requests.Response) -> Any:
    """JSON or `OK\\n…` body; raise Rejected for `KO\\n…` and JSON errors, protocol errors else."""
    if response.status_code in {301, 302, 303}:
        raise PlatformProtocolError(
            f"S²LOW a répondu par une redirection vers « {response.headers.get('Location', '')} » "
            "au lieu d'un résultat (le message est resté dans la session du serveur).",
            hint="Vérifiez l'adresse configurée, le certificat client et que le compte a les "
            "droits d'administration.",
        )
    text = decode(response)
    if text.startswith("KO\n"):
        raise Rejected(text[3:].strip())
    if text.startswith("OK\n"):
        return {"status": "ok", "message": text[3:].strip()}
    try:
        data = json.loads(text)
    except ValueError:
        raise protocol_error(
            _NAME, f"HTTP {response.status_code}, réponse qui n'est pas du JSON"
        ) from None
    if isinstance(data, dict) and data.get("status") == "error":
        raise Rejected(str(data.get("error-message", "")))
    return data


def _text(value: object) -> str:
    """A JSON scalar as PHP's normalize() leaves it ('' for null/false)."""
    if value is None or value is False:
        return ""
    return str(value)


def latin1_field(field: str, value: str) -> bytes:
    """The bytes that `utf8_encode` then `trim` turn back into exactly `value`, or Rejected."""
    label = FIELD_LABELS.get(field, field)
    try:
        raw = value.encode("iso-8859-1")
    except UnicodeEncodeError as exc:
        bad = value[exc.start : exc.end]
        raise Rejected(
            f"Champ {label} « {value} » : le caractère « {bad} » ne passe pas par l'API S²LOW "
            "(elle convertit chaque valeur reçue depuis le Latin-1, utf8_encode) ; l'écrire "
            "altérerait le compte. Déposez ce certificat à la main dans S²LOW."
        ) from None
    if value != value.strip(PHP_TRIM):
        raise Rejected(
            f"Champ {label} « {value} » : S²LOW retire les espaces de début et de fin des "
            "valeurs reçues ; l'écrire modifierait le compte. Corrigez d'abord ce champ dans "
            "S²LOW, ou déposez le certificat à la main."
        )
    return raw


class S2lowConnector(Connector):
    """S²LOW users through the admin pages."""

    name = _NAME

    def __init__(
        self,
        config: PlatformConfig,
        url: str,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.url = url
        self._authority = config.authority_id
        self._has_identity = config.client_cert is not None or credentials.has_login
        how = ["certificat client"] if config.client_cert is not None else []
        how += [f"identifiant {credentials.user}"] if credentials.has_login else []
        self._identity = "administrateur S²LOW (" + ", ".join(how) + ")"
        self._authority_names: dict[str, str] = {}
        auth = (credentials.user, credentials.password) if credentials.has_login else None
        self._http: HttpClient = client_for(config, url, retry=retry, auth=auth)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        response = self._http.request("GET", path, params={"api": "1", **params})
        if "connexion-status" in response.headers.get("Location", ""):
            # admin_users.php redirects a caller it cannot authenticate to this page.
            raise PlatformAuthError(
                "S²LOW n'a pas reconnu le compte (redirection vers la page d'état de connexion).",
                hint="Vérifiez le certificat client (client_cert/client_key) et "
                "CERTSYNC_USER/CERTSYNC_PASSWORD ; le compte doit être administrateur actif.",
            )
        if response.status_code in {401, 403}:
            message = decode(response).removeprefix("KO\n").strip()
            raise PlatformAuthError(
                f"S²LOW refuse l'accès : « {message} ».",
                hint="Vérifiez le certificat client (client_cert/client_key) et "
                "CERTSYNC_USER/CERTSYNC_PASSWORD ; le compte doit être administrateur.",
            )
        if response.status_code != 200 and response.status_code not in {301, 302, 303}:
            raise protocol_error(_NAME, f"{path} : HTTP {response.status_code}")
        return parse_answer(response)

    def check(self) -> None:
        """Authenticate (mTLS + Basic) and read one row of the list; no write."""
        if not self._has_identity:
            raise PlatformAuthError(
                "Identifiants S²LOW absents.",
                hint="Indiquez client_cert et client_key (TLS mutuel) dans [platform], et "
                "CERTSYNC_USER/CERTSYNC_PASSWORD si le certificat est partagé.",
            )
        try:
            data = self._get(LIST, {"status": "", "count": "1", "page": "1"})
        except Unavailable as exc:
            raise unavailable(_NAME, self.url, exc) from None
        except Rejected as exc:
            raise protocol_error(_NAME, f"liste des utilisateurs refusée : {exc.message}") from None
        if not isinstance(data, list):
            raise protocol_error(_NAME, "la liste des utilisateurs n'est pas un tableau JSON")

    def _page(self, page: int) -> list[dict[str, Any]]:
        # `status=` sent empty: admin_users.php then filters on no status (default: 1 only).
        data = self._get(LIST, {"status": "", "count": str(PAGE_SIZE), "page": str(page)})
        if not isinstance(data, list):
            raise protocol_error(_NAME, "la liste des utilisateurs n'est pas un tableau JSON")
        return [row for row in data if isinstance(row, dict)]

    def listing(self) -> AccountListing:
        """Every page, every status; a page that cannot be read ends the listing with a gap."""
        collected = AccountCollector()
        seen: set[str] = set()
        gaps: list[str] = []
        for page in range(1, MAX_PAGES + 1):
            try:
                rows = self._page(page)
            except (Unavailable, Rejected) as exc:
                # Where the list ends is unknown past an unreadable page: stop there.
                reason = exc.reason if isinstance(exc, Unavailable) else exc.message
                gaps.append(
                    f"page {page} (et suivantes) de la liste des utilisateurs S²LOW illisible : "
                    f"{reason}"
                )
                break
            ids = {str(row.get("id")) for row in rows}
            if not rows or ids <= seen:
                break  # pagerCountRecords: a page past the end repeats the last one
            seen |= ids
            for row in rows:
                account = self._account(row)
                if account is not None:
                    collected.add(account)
                    self._authority_names.setdefault(
                        account.organisation, _text(row.get("authority_name"))
                    )
            if len(rows) < PAGE_SIZE:
                break
        else:
            gaps.append(f"plus de {MAX_PAGES} pages d'utilisateurs S²LOW : liste tronquée")
        return collected.listing(gaps)

    @staticmethod
    def _account(row: dict[str, Any]) -> Account | None:
        if not row.get("email") or row.get("id") in (None, ""):
            return None
        return Account(
            _text(row["id"]),
            _text(row["email"]),
            _text(row.get("name")),
            _text(row.get("givenname")),
            active=_text(row.get("status")) == "1",
            organisation=_text(row.get("authority_id")),
        )

    def list_accounts(self) -> dict[str, Account]:
        """Users of every page and status, keyed by e-mail (gaps are ignored here)."""
        return self.listing().accounts

    def _detail(self, account: Account) -> dict[str, Any]:
        data = self._get(DETAIL, {"id": account.id})
        if not isinstance(data, dict):
            raise protocol_error(_NAME, "fiche utilisateur illisible")
        return data

    @staticmethod
    def _perms(detail: dict[str, Any]) -> dict[str, str]:
        modules = detail.get("module")
        if not isinstance(modules, dict):
            return {}
        return {str(k): _text(v) for k, v in modules.items()}

    def read_account(self, account: Account) -> AccountSnapshot:
        """The certificate and every field admin_user_detail.php shows, permissions included.

        A module without a permission row reads as '' and, once re-sent, is stored as "NONE"
        (User::setPerm); User::canAccess treats both as no access, so both read as "NONE".
        """
        detail = self._detail(account)
        fields = [(name, _text(detail.get(name))) for name in DETAIL_FIELDS]
        fields += [(f"perm_{k}", v or "NONE") for k, v in sorted(self._perms(detail).items())]
        value = detail.get("certificate")
        return AccountSnapshot(value if isinstance(value, str) and value else None, tuple(fields))

    def read_certificate(self, account: Account) -> str | None:
        """The stored PEM, verbatim."""
        value = self._detail(account).get("certificate")
        return value if isinstance(value, str) and value else None

    def _post(self, fields: dict[str, bytes], pem: str) -> Any:
        files = {"certificate": ("certificate.pem", pem.encode("ascii"), "application/x-pem-file")}
        response = self._http.request("POST", EDIT, idempotent=False, data=fields, files=files)
        if response.status_code >= 400:
            raise protocol_error(_NAME, f"enregistrement : HTTP {response.status_code}")
        try:
            return parse_answer(response)
        except Rejected as exc:
            if exc.message.startswith(DUPLICATE_MESSAGES):
                raise Rejected(
                    f"S²LOW refuse le certificat : « {exc.message} ». Il est déjà enregistré sur "
                    "un autre compte S²LOW (règle UserSQL::hasDoublon : un même certificat ne "
                    "peut servir à deux comptes que si chacun a un identifiant et un mot de "
                    "passe). Retirez-le de l'autre compte, ou passez les deux comptes en "
                    "« certificat partagé et login/mot de passe », puis relancez."
                ) from None
            raise

    def write_certificate(self, account: Account, pem: str) -> None:
        """Re-send every field as read, as Latin-1 bytes, with the `certificate` file."""
        detail = self._detail(account)
        values = {name: _text(detail.get(name)) for name in DETAIL_FIELDS}
        if values["status"] != "1":
            raise Rejected(
                "Compte S²LOW désactivé : aucun certificat n'y est déposé. Réactivez-le dans "
                "S²LOW (Utilisateurs → Modifier → État) s'il doit en recevoir un."
            )
        if values["role"] in ("SADM", "GADM"):
            # doEditAction turns SADM/GADM into ADM unless the caller is super administrator,
            # and the connector cannot tell who it is.
            raise Rejected(
                f"Compte S²LOW de rôle {values['role']} (administrateur) : S²LOW le ramènerait "
                "au rôle ADM si l'écriture ne vient pas d'un super administrateur "
                "(AdminUserController::doEditAction). Déposez ce certificat à la main."
            )
        fields = {"api": b"1", "id": latin1_field("id", account.id)}
        fields.update({name: latin1_field(name, v) for name, v in values.items()})
        # auth_method 1 forces the login to ''; 2 keeps it (the password is kept by S²LOW).
        fields["auth_method"] = b"2" if values["login"] else b"1"
        for module, perm in self._perms(detail).items():
            fields[f"perm_{module}"] = latin1_field(f"perm_{module}", perm)
        data = self._post(fields, pem)
        if isinstance(data, dict) and _text(data.get("id")) not in ("", account.id):
            raise protocol_error(
                _NAME, f"enregistrement : id {data.get('id')} au lieu de {account.id}"
            )

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        """admin_user_edit_handler without id; S²LOW requires the certificate at creation."""
        if not pem:
            raise Rejected("Le certificat utilisateur est obligatoire")
        if not self._authority:
            # doEdit refuses a creation without it ("authority_id est obligatoire").
            raise Rejected(
                f"Collectivité S²LOW de {agent.email} inconnue : authority_id n'est pas "
                "configuré, compte non créé. Indiquez authority_id dans la section [platform]."
            )
        values = {
            "name": agent.nom,
            "givenname": agent.prenom,
            "email": agent.email,
            "status": "1",
            "authority_id": self._authority,
            "role": "USER",
        }
        fields = {"api": b"1", "auth_method": b"1"}
        fields.update({name: latin1_field(name, v) for name, v in values.items()})
        data = self._post(fields, pem)
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise protocol_error(_NAME, "création : pas d'identifiant dans la réponse")
        return Account(
            _text(data["id"]), agent.email, agent.nom, agent.prenom, organisation=self._authority
        )

    def survey(self) -> Survey:
        """Log in, list every page, count users per authority, try reading one detail."""
        self.check()
        listing = self.listing()
        counts = count_by_organisation(listing)
        organisations = tuple(
            OrganisationSummary(org, self._authority_names.get(org) or f"collectivité {org}", n)
            for org, n in sorted(counts.items())
        )
        can_edit, notes = probe_edit(listing, self._detail)
        return Survey(self._identity, organisations, can_edit, notes)

    def close(self) -> None:
        """Release HTTP sessions."""
        self._http.close()
