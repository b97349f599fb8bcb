"""Connector to S²LOW's admin user pages in `api=1` mode, over mutual TLS (plus HTTP Basic).

S²LOW's bodies are ISO-8859-1 whatever the headers say (`utf8_decode` in JSONoutput), and its
errors come in three shapes (megalis-platform.md §3.3): JSON `{"status":"error",
"error-message":…}`, plain `KO\\n<message>\\n`, or a 302 redirect with the message left in the
server session. The platform's message is passed on verbatim.
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
from certsync.connectors.interface import Account, Connector, Rejected, Unavailable
from certsync.errors import PlatformAuthError, PlatformProtocolError
from certsync.records import Agent

_NAME = "s2low"
LIST = "/admin/users/admin_users.php"
DETAIL = "/admin/users/admin_user_detail.php"
EDIT = "/admin/users/admin_user_edit_handler.php"
KEPT_FIELDS = (
    "email",
    "telephone",
    "status",
    "authority_id",
    "authority_group_id",
    "role",
    "login",
)


def decode(response: requests.Response) -> str:
    """The body as S²LOW wrote it: ISO-8859-1."""
    return response.content.decode("iso-8859-1")


def parse_answer(response: requests.Response) -> Any:
    """JSON or `OK\\n…` body; raise Rejected for `KO\\n…` and JSON errors, protocol errors else."""
    if response.status_code in {301, 302, 303}:
        raise PlatformProtocolError(
            f"S²LOW a répondu par une redirection vers « {response.headers.get('Location', '')} » "
            "au lieu d'un résultat (le message est resté dans la session du serveur).",
            hint="Vérifiez l'adresse configurée et que le compte a les droits d'administration.",
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
        auth = (credentials.user, credentials.password) if credentials.has_login else None
        self._http: HttpClient = client_for(config, url, retry=retry, auth=auth)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        response = self._http.request("GET", path, params={"api": "1", **params})
        if response.status_code in {401, 403}:
            message = decode(response).removeprefix("KO\n").strip()
            raise PlatformAuthError(
                f"S²LOW refuse l'accès : « {message} ».",
                hint="Vérifiez le certificat client (client_cert/client_key) et "
                "CERTSYNC_USER/CERTSYNC_PASSWORD ; le compte doit être administrateur.",
            )
        if response.status_code != 200:
            raise protocol_error(_NAME, f"{path} : HTTP {response.status_code}")
        return parse_answer(response)

    def check(self) -> None:
        """Authenticate (mTLS + Basic) and list the users; no write."""
        if not self._has_identity:
            raise PlatformAuthError(
                "Identifiants S²LOW absents.",
                hint="Indiquez client_cert et client_key (TLS mutuel) dans [platform], et "
                "CERTSYNC_USER/CERTSYNC_PASSWORD si le certificat est partagé.",
            )
        try:
            self.list_accounts()
        except Unavailable as exc:
            raise unavailable(_NAME, self.url, exc) from None
        except Rejected as exc:
            raise protocol_error(_NAME, f"liste des utilisateurs refusée : {exc.message}") from None

    def list_accounts(self) -> dict[str, Account]:
        """Users (a JSON array), keyed by e-mail."""
        data = self._get(LIST, {})
        if not isinstance(data, list):
            raise protocol_error(_NAME, "la liste des utilisateurs n'est pas un tableau JSON")
        accounts: dict[str, Account] = {}
        for row in data:
            if isinstance(row, dict) and row.get("email") and row.get("id") is not None:
                account = Account(
                    str(row["id"]),
                    str(row["email"]),
                    str(row.get("name", "")),
                    str(row.get("givenname", "")),
                )
                accounts.setdefault(account.email_key, account)
        return accounts

    def _detail(self, account: Account) -> dict[str, Any]:
        data = self._get(DETAIL, {"id": account.id})
        if not isinstance(data, dict):
            raise protocol_error(_NAME, "fiche utilisateur illisible")
        return data

    def read_certificate(self, account: Account) -> str | None:
        """The stored PEM, verbatim."""
        value = self._detail(account).get("certificate")
        return value if isinstance(value, str) and value else None

    def _post(self, fields: dict[str, str], pem: str) -> Any:
        files = {"certificate": ("certificate.pem", pem.encode("ascii"), "application/x-pem-file")}
        response = self._http.request("POST", EDIT, idempotent=False, data=fields, files=files)
        if response.status_code >= 400:
            raise protocol_error(_NAME, f"enregistrement : HTTP {response.status_code}")
        return parse_answer(response)

    def write_certificate(self, account: Account, pem: str) -> None:
        """Re-send the user's fields with the `certificate` file (the socle's own way)."""
        detail = self._detail(account)
        name, givenname = str(detail.get("name", "")), str(detail.get("givenname", ""))
        if "?" in name + givenname:
            # Read through utf8_decode, a name with œ or other non-Latin-1 letters comes back
            # with "?": sending it back would damage the account.
            raise Rejected(
                f"Nom illisible via l'API S²LOW (« {givenname} {name} ») : mettez le certificat "
                "à jour à la main pour ne pas altérer le nom."
            )
        fields = {"api": "1", "id": account.id, "name": name, "givenname": givenname}
        fields.update({k: str(detail.get(k) or "") for k in KEPT_FIELDS})
        fields["auth_method"] = "2" if fields["login"] else "1"
        modules = detail.get("module")
        if isinstance(modules, dict):
            # (inference) the edit handler resets permissions that are not sent.
            fields.update({f"perm_{k}": str(v) for k, v in modules.items()})
        self._post(fields, pem)

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        """admin_user_edit_handler without id; S²LOW requires the certificate at creation."""
        if not pem:
            raise Rejected("Le certificat utilisateur est obligatoire")
        fields = {
            "api": "1",
            "name": agent.nom,
            "givenname": agent.prenom,
            "email": agent.email,
            "telephone": "",
            "status": "1",
            "authority_id": self._authority,
            "role": "USER",
            "authority_group_id": "",
            "login": "",
            "auth_method": "1",
        }
        data = self._post(fields, pem)
        if not isinstance(data, dict) or data.get("id") is None:
            raise protocol_error(_NAME, "création : pas d'identifiant dans la réponse")
        return Account(str(data["id"]), agent.email, agent.nom, agent.prenom)

    def close(self) -> None:
        """Release HTTP sessions."""
        self._http.close()
