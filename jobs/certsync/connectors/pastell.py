"""Connector to Pastell: API v2 to list and read users, the legacy multipart script to write.

Never a PATCH: Pastell's PATCH /api/v2/utilisateur/{id_u} erases the stored certificate when no
`certificat` file comes with it, and PHP cannot receive a file on PATCH (megalis-platform.md §4).
The legacy `POST /api/modif-utilisateur.php` carries the file in a multipart body.
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
from certsync.connectors.interface import Account, Connector, Rejected, Unavailable
from certsync.errors import PlatformAuthError
from certsync.records import Agent

_NAME = "pastell"
USERS = "/api/v2/utilisateur"
LEGACY_EDIT = "/api/modif-utilisateur.php"


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict) and isinstance(data.get("error-message"), str):
        return str(data["error-message"])
    return f"HTTP {response.status_code}"


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
        elif credentials.has_login:
            auth = (credentials.user, credentials.password)
        self._has_credentials = bool(credentials.token or credentials.has_login)
        self._http: HttpClient = client_for(config, url, retry=retry, auth=auth, headers=headers)

    def _json(self, response: requests.Response, what: str) -> Any:
        if response.status_code in {401, 403}:
            raise PlatformAuthError(
                f"Pastell refuse l'accès ({what}) : « {_message(response)} ».",
                hint="Vérifiez CERTSYNC_TOKEN (jeton d'API) ou CERTSYNC_USER/CERTSYNC_PASSWORD, "
                "et les droits du compte sur l'entité.",
            )
        try:
            return response.json()
        except ValueError:
            raise protocol_error(
                _NAME, f"{what} : HTTP {response.status_code}, pas du JSON"
            ) from None

    def check(self) -> None:
        """Authenticate and read the version; no write."""
        if not self._has_credentials:
            raise PlatformAuthError(
                "Identifiants Pastell absents.",
                hint="Définissez CERTSYNC_TOKEN, ou CERTSYNC_USER et CERTSYNC_PASSWORD.",
            )
        try:
            data = self._json(self._http.request("GET", "/api/v2/version"), "version")
            if not isinstance(data, dict) or "version" not in data:
                raise protocol_error(_NAME, "réponse de /api/v2/version sans version")
            self.list_accounts()
        except Unavailable as exc:
            raise unavailable(_NAME, self.url, exc) from None

    def list_accounts(self) -> dict[str, Account]:
        """Users (an object keyed by id_u), keyed by e-mail."""
        params = {"id_e": self._entity} if self._entity else None
        response = self._http.request("GET", USERS, params=params)
        data = self._json(response, "liste des utilisateurs")
        if response.status_code != 200 or not isinstance(data, dict | list):
            raise protocol_error(_NAME, f"liste des utilisateurs : HTTP {response.status_code}")
        rows = data.values() if isinstance(data, dict) else data
        accounts: dict[str, Account] = {}
        for row in rows:
            if isinstance(row, dict) and row.get("email") and row.get("id_u") is not None:
                account = Account(str(row["id_u"]), str(row["email"]))
                accounts.setdefault(account.email_key, account)
        return accounts

    def _detail(self, account: Account) -> dict[str, Any]:
        response = self._http.request("GET", f"{USERS}/{account.id}")
        data = self._json(response, "fiche utilisateur")
        if response.status_code != 200:
            raise Rejected(_message(response))
        if not isinstance(data, dict):
            raise protocol_error(_NAME, "fiche utilisateur illisible")
        return data

    def read_certificate(self, account: Account) -> str | None:
        """The `certificat` field of the user, verbatim."""
        value = self._detail(account).get("certificat")
        return value if isinstance(value, str) and value else None

    def _answer(self, response: requests.Response, what: str) -> dict[str, Any]:
        data = self._json(response, what)
        if response.status_code >= 400 or (
            isinstance(data, dict) and data.get("status") == "error"
        ):
            raise Rejected(_message(response))
        if not isinstance(data, dict):
            raise protocol_error(_NAME, f"{what} : réponse illisible")
        return data

    def write_certificate(self, account: Account, pem: str) -> None:
        """Legacy multipart POST with the user's current fields and the `certificat` file."""
        detail = self._detail(account)
        fields = {"id_u": account.id}
        for name in ("login", "email", "nom", "prenom"):
            if isinstance(detail.get(name), str):
                fields[name] = detail[name]
        files = {"certificat": ("certificat.pem", pem.encode("ascii"), "application/x-pem-file")}
        response = self._http.request(
            "POST", LEGACY_EDIT, idempotent=False, data=fields, files=files
        )
        self._answer(response, "modification de l'utilisateur")

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        """POST /api/v2/utilisateur (201), with the certificate file when given."""
        fields = {
            "login": agent.email,
            "email": agent.email,
            "nom": agent.nom,
            "prenom": agent.prenom,
            "id_e": self._entity or "0",
            # The agent logs in with the certificate; a random password nobody knows.
            "password": secrets.token_urlsafe(24),
        }
        files = None
        if pem:
            files = {
                "certificat": ("certificat.pem", pem.encode("ascii"), "application/x-pem-file")
            }
        response = self._http.request("POST", USERS, idempotent=False, data=fields, files=files)
        data = self._answer(response, "création de l'utilisateur")
        if response.status_code != 201 or data.get("id_u") is None:
            raise protocol_error(_NAME, f"création : HTTP {response.status_code}, pas d'id_u")
        return Account(str(data["id_u"]), agent.email, agent.nom, agent.prenom)

    def close(self) -> None:
        """Release HTTP sessions."""
        self._http.close()
