"""The sandbox's accounts: in memory, behind a lock, optionally persisted to a JSON state file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from certsync.connectors.pem import der_of_text
from certsync.errors import CertsyncError

#: First id handed out per platform, so that ids look like each platform's.
FIRST_ID = {"socle": 1001, "s2low": 1, "pastell": 2}


@dataclass(slots=True)
class SandboxAccount:
    """One account on the stand-in platform (mutable: the server edits it under the lock)."""

    id: str
    email: str
    nom: str = ""
    prenom: str = ""
    certificate: str | None = None
    """Stored text, verbatim."""
    writes: int = 0
    """Certificate writes received."""
    deletions: int = 0
    """Times a request erased the certificate (Pastell's PATCH trap)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Platform-specific fields (form fields, login, role, …)."""

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the stored certificate's DER, or None."""
        der = der_of_text(self.certificate)
        return hashlib.sha256(der).hexdigest() if der is not None else None

    def public(self) -> dict[str, object]:
        """The `/__sandbox__/accounts` view."""
        return {
            "email": self.email,
            "id": self.id,
            "sha256": self.sha256,
            "writes": self.writes,
            "deletions": self.deletions,
        }


class Store:
    """Accounts keyed by id; every mutation happens in `mutate()` and is persisted on exit."""

    def __init__(self, platform: str, state: Path | None = None) -> None:
        self.platform = platform
        self.state = state
        self.accounts: dict[str, SandboxAccount] = {}
        self.next_id = FIRST_ID[platform]
        self.lock = threading.RLock()
        self.extra: dict[str, Any] = {}
        """Platform-specific state beyond accounts (the socle's organisations), persisted too."""
        if state is not None and state.exists():
            data = json.loads(state.read_text(encoding="utf-8"))
            self.next_id = int(data["next_id"])
            self.extra = dict(data.get("extra", {}))
            for raw in data["accounts"]:
                account = SandboxAccount(**raw)
                self.accounts[account.id] = account

    def new_id(self) -> str:
        """A fresh id (call under the lock)."""
        value = self.next_id
        self.next_id += 1
        return str(value)

    def by_email(self, email: str) -> SandboxAccount | None:
        """The account with that e-mail (case-insensitive)."""
        key = email.casefold()
        return next((a for a in self.accounts.values() if a.email.casefold() == key), None)

    def add(
        self,
        email: str,
        nom: str = "",
        prenom: str = "",
        *,
        id: str = "",
        extra: dict[str, str] | None = None,
    ) -> SandboxAccount:
        """Create an account (call under the lock, or through mutate())."""
        with self.lock:
            account = SandboxAccount(id or self.new_id(), email, nom, prenom, extra=extra or {})
            if id and id.isdigit():
                self.next_id = max(self.next_id, int(id) + 1)
            self.accounts[account.id] = account
            return account

    @contextmanager
    def mutate(self) -> Iterator[None]:
        """Hold the lock for a change and persist it when done."""
        with self.lock:
            yield
            self.save()

    def save(self) -> None:
        """Write the state file atomically (temp file, fsync, rename), if one is configured."""
        if self.state is None:
            return
        with self.lock:
            data = {
                "platform": self.platform,
                "next_id": self.next_id,
                "accounts": [asdict(a) for a in self.accounts.values()],
                "extra": self.extra,
            }
            self.state.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state.parent, prefix=self.state.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, ensure_ascii=False, indent=1)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(tmp).replace(self.state)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def snapshot(self) -> list[dict[str, object]]:
        """Every account's public view, by id."""
        with self.lock:
            return [a.public() for a in self.accounts.values()]


def read_accounts(path: Path) -> list[dict[str, str]]:
    """Rows (email, nom, prenom, id, organisation, siren) from any roster, or the socle's export.

    The job's own roster reader, so that a sandbox can be filled from exactly the files an
    administrator has (xlsx, cp1252 CSV, title rows, export_agent.csv).
    """
    from certsync.roster import read_roster

    try:
        roster = read_roster(path)
    except CertsyncError as exc:
        raise ValueError(f"{path} : {exc.message}") from exc
    rows = []
    for agent in roster.agents:
        if agent.email:
            row = {"email": agent.email, "nom": agent.nom, "prenom": agent.prenom}
            if agent.profil_id:
                row["id"] = agent.profil_id
            # The socle sandbox files agents under their organisation (others ignore these keys).
            if agent.organisation:
                row["organisation"] = agent.organisation
            siren = agent.siren or agent.siret[:9]
            if siren:
                row["siren"] = siren
            rows.append(row)
    return rows
