"""Connector to the MyEc3 socle ("Mes Services"), which has no API: it drives the admin forms.

What is known (megalis-platform.md §2, §5): the agent form `modification_form` at
`organism/agent/modify/{profil_id}` with textarea `certificate` validated by a full-match regex,
and the `export_agent.csv` directory. What is inferred: the real site logs in through Keycloak
SSO (an OIDC redirect dance); we model it as one form login (`GET /login`, then POST of the
form `kc-form-login` with `username`/`password`, answered by a redirect and a session cookie),
the export URL `organism/agent/export`, and the create page `organism/agent/create`.
"""

from __future__ import annotations

import csv
import io
import re
import threading

import requests

from certsync.config import PlatformConfig
from certsync.connectors.credentials import Credentials
from certsync.connectors.htmlform import Form, parse_page
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

#: Columns of export_agent.csv we rely on (megalis-platform.md §5.2).
EXPORT_REQUIRED = ("profil_id", "profil_email", "user_firstname", "user_lastname")
LOGIN_PATH = "/login"
EXPORT_PATH = "/organism/agent/export"
MODIFY_PATH = "/organism/agent/modify/{id}"
CREATE_PATH = "/organism/agent/create"
_NAME = "socle"


class SocleConnector(Connector):
    """Reads and writes the `certificate` field of agent forms, as an administrator would."""

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
        self._credentials = credentials
        self._http: HttpClient = client_for(config, url, retry=retry)
        self._login_lock = threading.Lock()
        self._session_generation = 0

    # -- session -------------------------------------------------------------------------

    def _login(self) -> None:
        page = self._http.request("GET", LOGIN_PATH)
        form = parse_page(page.text).form("kc-form-login") if page.status_code == 200 else None
        if form is None:
            raise protocol_error(_NAME, f"pas de formulaire de connexion sur {LOGIN_PATH}")
        fields = [(n, v) for n, v in form.fields if n not in {"username", "password"}]
        fields += [("username", self._credentials.user), ("password", self._credentials.password)]
        # Logging in changes nothing on the platform, so it may be retried like a read.
        answer = self._http.request("POST", form.action or LOGIN_PATH, data=fields)
        if answer.status_code in {302, 303} and LOGIN_PATH not in answer.headers.get(
            "Location", ""
        ):
            return
        errors = parse_page(answer.text).errors if answer.status_code == 200 else ()
        if errors:
            raise PlatformAuthError(
                f"Le socle Mégalis refuse la connexion : « {errors[0]} ».",
                hint="Vérifiez CERTSYNC_USER et CERTSYNC_PASSWORD (ou les fichiers "
                "user_file/password_file) : il faut un compte administrateur de l'organisme.",
            )
        raise protocol_error(_NAME, f"connexion : HTTP {answer.status_code}")

    def _relogin(self, seen: int) -> None:
        with self._login_lock:
            # Another worker may already have renewed the shared session cookie.
            if self._session_generation == seen:
                self._login()
                self._session_generation += 1

    def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        data: list[tuple[str, str]] | None = None,
    ) -> requests.Response:
        seen = self._session_generation
        response = self._http.request(method, path, idempotent=idempotent, data=data)
        if response.status_code in {302, 303} and LOGIN_PATH in response.headers.get(
            "Location", ""
        ):
            self._relogin(seen)
            response = self._http.request(method, path, idempotent=idempotent, data=data)
        return response

    # -- protocol ------------------------------------------------------------------------

    def check(self) -> None:
        """Log in and read the directory; everything before any write."""
        if not self._credentials.has_login:
            raise PlatformAuthError(
                "Identifiants du socle Mégalis absents.",
                hint="Définissez CERTSYNC_USER et CERTSYNC_PASSWORD (ou user_file et "
                "password_file dans la configuration).",
            )
        try:
            with self._login_lock:
                self._login()
                self._session_generation += 1
            self.list_accounts()
        except Unavailable as exc:
            raise unavailable(_NAME, self.url, exc) from None

    def list_accounts(self) -> dict[str, Account]:
        """Agents from export_agent.csv (UTF-8 with BOM, `;`, quoted), keyed by e-mail."""
        response = self._call("GET", EXPORT_PATH)
        if response.status_code != 200:
            raise protocol_error(_NAME, f"export des agents : HTTP {response.status_code}")
        text = response.content.decode("utf-8-sig", errors="replace")
        rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
        if not rows.fieldnames or not set(EXPORT_REQUIRED) <= set(rows.fieldnames):
            raise protocol_error(_NAME, "l'export des agents n'a pas les colonnes attendues")
        accounts: dict[str, Account] = {}
        for row in rows:
            email = (row.get("profil_email") or row.get("user_username") or "").strip()
            if email and row.get("profil_id"):
                account = Account(
                    row["profil_id"].strip(),
                    email,
                    (row.get("user_lastname") or "").strip(),
                    (row.get("user_firstname") or "").strip(),
                )
                accounts.setdefault(account.email_key, account)
        return accounts

    def _form(self, path: str, form_id: str) -> Form:
        response = self._call("GET", path)
        if response.status_code == 404:
            raise Rejected(f"Page introuvable : {path}")
        form = parse_page(response.text).form(form_id) if response.status_code == 200 else None
        if form is None:
            raise protocol_error(_NAME, f"pas de formulaire « {form_id} » sur {path}")
        return form

    def read_certificate(self, account: Account) -> str | None:
        """The `certificate` textarea of the agent's form, verbatim."""
        form = self._form(MODIFY_PATH.format(id=account.id), "modification_form")
        if not form.has("certificate"):
            raise protocol_error(_NAME, "le formulaire de l'agent n'a pas de champ certificat")
        return form.get("certificate") or None

    def _submit(self, path: str, form: Form, values: dict[str, str]) -> requests.Response:
        fields = form.fields
        for name, value in values.items():
            fields = [(n, value if n == name else v) for n, v in fields]
            if not any(n == name for n, _ in fields):
                fields.append((name, value))
        # Only the clicked button is sent: "Enregistrer" (t:id submit), never "Vérifier".
        fields += [(n, v) for n, v in form.buttons if n == "submit"]
        response = self._call("POST", form.action or path, idempotent=False, data=fields)
        if response.status_code == 200:
            errors = parse_page(response.text).errors
            raise Rejected(" ; ".join(errors) if errors else "Formulaire refusé sans message")
        if response.status_code not in {302, 303}:
            raise protocol_error(_NAME, f"enregistrement : HTTP {response.status_code}")
        return response

    def write_certificate(self, account: Account, pem: str) -> None:
        """Submit the agent's form with `certificate` replaced and every other field kept."""
        path = MODIFY_PATH.format(id=account.id)
        self._submit(path, self._form(path, "modification_form"), {"certificate": pem})

    def create_account(self, agent: Agent, pem: str | None = None) -> Account:
        """Create the agent through the create form (the same AgentForm, certificate included)."""
        form = self._form(CREATE_PATH, "creation_form")
        values = {
            "lastname": agent.nom,
            "firstname": agent.prenom,
            "email": agent.email,
            "username": agent.email,
        }
        if pem:
            values["certificate"] = pem
        response = self._submit(CREATE_PATH, form, values)
        found = re.search(
            r"/organism/agent/(?:view|modify)/(\d+)", response.headers.get("Location", "")
        )
        if not found:
            raise protocol_error(_NAME, "création : pas d'identifiant dans la redirection")
        return Account(found.group(1), agent.email, agent.nom, agent.prenom)

    def close(self) -> None:
        """Release HTTP sessions."""
        self._http.close()
