"""Connector to Pastell: API v2 to walk entities and read users, the legacy script to write.

Sourced in docs/platforms/pastell.md. `GET /api/v2/utilisateur?id_e=` lists only the users whose
base entity is `id_e` (UtilisateurListe::getAllUtilisateurSimple), so the listing walks every
entity `GET /api/v2/entite` returns (or the configured `entity_id` and its descendants). Writes
go through the legacy `POST /api/modif-utilisateur.php` with only `id_u` and the `certificat`
file: the legacy route passes every field through `utf8_encode_array`, and fields not sent are
kept as stored. Never a v2 PATCH: its body is read with parse_str, it can carry no file, and
without a file it erases the stored certificate.
"""

from __future__ import annotations

import secrets
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
from certsync.errors import PlatformAuthError
from certsync.records import Agent

_NAME = "pastell"
USERS = "/api/v2/utilisateur"
ENTITIES = "/api/v2/entite"
LEGACY_EDIT = "/api/modif-utilisateur.php"
DETAIL_FIELDS = ("login", "nom", "prenom", "email", "id_e", "active")


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict) and isinstance(data.get("error-message"), str):
        return str(data["error-message"])
    return f"HTTP {response.status_code}"


def _text(value: object) -> str:
    if value is True:
        return "1"
    if value is None or value is False:
        return ""
    return str(value)


def _rows(data: object) -> list[dict[str, Any]]:
    """A JSON list, or a PHP array with non-sequential keys (an object)."""
    values = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
    return [row for row in values if isinstance(row, dict)]


def _active(value: object) -> bool:
    # 4.x answers a boolean; the legacy API strval()s it ("1"/""); before 4.0 there is none.
    return value is None or value is True or value in ("1", 1)


class PastellConnector(Connector):
    """Pastell users through its HTTP API (Bearer token, or Basic login)."""

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
        self._entity = config.entity_id
        auth: tuple[str, str] | None = None
        headers: dict[str, str] = {"Accept": "application/json"}
        if credentials.token:
            headers["Authorization"] = f"Bearer {credentials.token}"
            self._identity = "jeton d'API Pastell (CERTSYNC_TOKEN)"
        elif credentials.has_login:
            auth = (credentials.user, credentials.password)
            self._identity = f"{credentials.user} (compte d'API Pastell)"
        else:
            self._identity = "aucun identifiant Pastell"
        self._has_credentials = bool(credentials.token or credentials.has_login)
        self._http: HttpClient = client_for(config, url, retry=retry, auth=auth, headers=headers)

    def _json(self, response: requests.Response, what: str) -> Any:
        if response.status_code == 401:
            raise PlatformAuthError(
                f"Pastell refuse l'accès ({what}) : « {_message(response)} ».",
                hint="Vérifiez CERTSYNC_TOKEN (jeton d'API) ou CERTSYNC_USER/CERTSYNC_PASSWORD.",
            )
        try:
            return response.json()
        except ValueError:
            raise protocol_error(
                _NAME, f"{what} : HTTP {response.status_code}, pas du JSON"
            ) from None

    def _get(self, path: str, what: str, params: dict[str, str] | None = None) -> Any:
        response = self._http.request("GET", path, params=params)
        data = self._json(response, what)
        if response.status_code != 200:
            raise Rejected(f"{what} : {_message(response)} (HTTP {response.status_code})")
        return data

    def check(self) -> None:
        """Authenticate, read the version and the entities; no write."""
        if not self._has_credentials:
            raise PlatformAuthError(
                "Identifiants Pastell absents.",
                hint="Définissez CERTSYNC_TOKEN, ou CERTSYNC_USER et CERTSYNC_PASSWORD.",
            )
        try:
            data = self._get("/api/v2/version", "version")
            if not isinstance(data, dict) or "version" not in data:
                raise protocol_error(_NAME, "réponse de /api/v2/version sans version")
            self._entities()
        except Unavailable as exc:
            raise unavailable(_NAME, self.url, exc) from None
        except Rejected as exc:
            raise PlatformAuthError(
                f"Pastell refuse la lecture des entités : {exc.message}.",
                hint="Le compte doit avoir le droit entite:lecture sur les entités à traiter.",
            ) from None

    def _entities(self) -> list[dict[str, Any]]:
        """The entities the account reads (each with its descendants), as GET /entite lists."""
        rows = _rows(self._get(ENTITIES, "liste des entités"))
        if not self._entity:
            return rows
        # The configured root and its descendants, by the `entite_mere` links.
        keep = {self._entity}
        changed = True
        while changed:
            changed = False
            for row in rows:
                if _text(row.get("entite_mere")) in keep and _text(row.get("id_e")) not in keep:
                    keep.add(_text(row.get("id_e")))
                    changed = True
        kept = [row for row in rows if _text(row.get("id_e")) in keep]
        if not any(_text(row.get("id_e")) == self._entity for row in kept):
            kept.insert(0, self._get(f"{ENTITIES}/{self._entity}", f"entité {self._entity}"))
        return kept

    def listing(self) -> AccountListing:
        """Users of every entity walked; an entity whose users cannot be read is a gap."""
        gaps: list[str] = []
        try:
            entities = self._entities()
        except (Unavailable, Rejected) as exc:
            reason = exc.reason if isinstance(exc, Unavailable) else exc.message
            return AccountListing({}, (f"liste des entités Pastell illisible : {reason}",))
        collected = AccountCollector()
        for entity in entities:
            id_e = _text(entity.get("id_e"))
            try:
                rows = _rows(self._get(USERS, f"utilisateurs de l'entité {id_e}", {"id_e": id_e}))
            except (Unavailable, Rejected) as exc:
                reason = exc.reason if isinstance(exc, Unavailable) else exc.message
                label = _text(entity.get("denomination")) or id_e
                gaps.append(f"utilisateurs de l'entité Pastell « {label} » ({id_e}) : {reason}")
                continue
            for row in rows:
                if row.get("email") and row.get("id_u") not in (None, ""):
                    account = Account(
                        _text(row["id_u"]),
                        _text(row["email"]),
                        active=_active(row.get("active")),
                        organisation=id_e,
                    )
                    collected.add(account)
        return collected.listing(gaps)

    def list_accounts(self) -> dict[str, Account]:
        """Users of the whole entity tree, keyed by e-mail (gaps are ignored here)."""
        return self.listing().accounts

    def _detail(self, account: Account) -> dict[str, Any]:
        data = self._get(f"{USERS}/{account.id}", "fiche utilisateur")
        if not isinstance(data, dict):
            raise protocol_error(_NAME, "fiche utilisateur illisible")
        return data

    def read_account(self, account: Account) -> AccountSnapshot:
        """The certificate and every field of the user's detail (login, names, e-mail…)."""
        detail = self._detail(account)
        fields = tuple(
            (name, "1" if _active(detail.get(name)) else "0")
            if name == "active"
            else (name, _text(detail.get(name)))
            for name in DETAIL_FIELDS
        )
        value = detail.get("certificat")
        return AccountSnapshot(value if isinstance(value, str) and value else None, fields)

    def read_certificate(self, account: Account) -> str | None:
        """The `certificat` field of the user, verbatim."""
        value = self._detail(account).get("certificat")
        return value if isinstance(value, str) and value else None

    def write_certificate(self, account: Account, pem: str) -> None:
        """Legacy multipart POST with only `id_u` and the `certificat` file."""
        detail = self._detail(account)
        if not _active(detail.get("active")):
            raise Rejected(
                "Compte Pastell désactivé : aucun certificat n'y est déposé. Réactivez-le dans "
                "Pastell (Administration → Utilisateurs) s'il doit en recevoir un."
            )
        files = {"certificat": ("certificat.pem", pem.encode("ascii"), "application/x-pem-file")}
        response = self._http.request(
            "POST", LEGACY_EDIT, idempotent=False, data={"id_u": account.id}, files=files
        )
        data = self._json(response, "modification de l'utilisateur")
        # The legacy API answers 200 even on a plain error: the body says.
        if response.status_code >= 400 or not isinstance(data, dict):
            raise Rejected(_message(response))
        if data.get("status") == "error":
            raise Rejected(str(data.get("error-message", "")))

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        """POST /api/v2/utilisateur (201, UTF-8, no re-encoding), with the certificate file."""
        fields = {
            "login": agent.email,
            "email": agent.email,
            "nom": agent.nom,
            "prenom": agent.prenom,
            "id_e": self._entity_for(agent),
            # The agent logs in with the certificate; a random password nobody knows.
            "password": secrets.token_urlsafe(24),
        }
        files = None
        if pem:
            files = {
                "certificat": ("certificat.pem", pem.encode("ascii"), "application/x-pem-file")
            }
        response = self._http.request("POST", USERS, idempotent=False, data=fields, files=files)
        data = self._json(response, "création de l'utilisateur")
        if response.status_code >= 400 or not isinstance(data, dict):
            raise Rejected(_message(response))
        if response.status_code != 201 or data.get("id_u") is None:
            raise protocol_error(_NAME, f"création : HTTP {response.status_code}, pas d'id_u")
        return Account(
            _text(data["id_u"]), agent.email, agent.nom, agent.prenom, organisation=fields["id_e"]
        )

    def _entity_for(self, agent: Agent) -> str:
        """The entity a new account goes to: the one with the agent's SIREN, else entity_id.

        Without either, `id_e` would default to 0 and Pastell would refuse with a bare
        "Acces interdit" (UtilisateurAPIController::post checks utilisateur:creation on id_e).
        """
        siren = (agent.siren or agent.siret[:9]).strip()
        if siren:
            matches = [
                _text(e.get("id_e")) for e in self._entities() if _text(e.get("siren")) == siren
            ]
            if len(matches) > 1:
                raise Rejected(
                    f"Plusieurs entités Pastell ont le SIREN {siren} ({', '.join(matches)}) : "
                    f"compte de {agent.email} non créé. Créez-le à la main dans la bonne entité."
                )
            if matches:
                return matches[0]
        if self._entity:
            return self._entity
        raise Rejected(
            f"Entité Pastell de {agent.email} inconnue (aucune entité accessible n'a le SIREN "
            f"« {siren or 'absent'} » et entity_id n'est pas configuré) : compte non créé. "
            "Ajoutez la colonne SIREN à la liste, ou entity_id dans la section [platform]."
        )

    def survey(self) -> Survey:
        """Log in, walk the entities, count their users, read one user's detail."""
        self.check()
        entities = self._entities()
        listing = self.listing()
        counts = count_by_organisation(listing)
        organisations = tuple(
            OrganisationSummary(
                _text(e.get("id_e")),
                _text(e.get("denomination")),
                counts.get(_text(e.get("id_e")), 0),
            )
            for e in entities
        )
        can_edit, notes = probe_edit(listing, self._detail)
        return Survey(self._identity, organisations, can_edit, notes)

    def close(self) -> None:
        """Release HTTP sessions."""
        self._http.close()
