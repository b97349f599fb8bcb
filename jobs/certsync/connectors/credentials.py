"""Platform credentials, read only from CERTSYNC_* variables or from files the config names."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from certsync.config import PlatformConfig
from certsync.errors import ConfigError
from certsync.fsutil import read_regular
from certsync.logs import add_secret

log = logging.getLogger("certsync.credentials")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Login, password and API token; never printed (repr hides them)."""

    user: str = field(default="", repr=False)
    """Login (CERTSYNC_USER or user_file)."""
    password: str = field(default="", repr=False)
    """Password (CERTSYNC_PASSWORD or password_file)."""
    token: str = field(default="", repr=False)
    """API token (CERTSYNC_TOKEN or token_file)."""

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'***' if getattr(self, name) else ''}"
            for name in ("user", "password", "token")
        )
        return f"Credentials({shown})"

    @property
    def has_login(self) -> bool:
        """Both login and password are set."""
        return bool(self.user and self.password)


def _read_secret(path: Path, what: str) -> str:
    try:
        return read_regular(path, 1 << 16).decode("utf-8-sig").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(
            f"Fichier de {what} illisible : {path} ({reason}).",
            hint="Vérifiez le chemin indiqué dans la configuration [platform] et ses droits.",
        ) from None


def exposed_secret_files(config: PlatformConfig) -> list[str]:
    """French warnings for the password and token files that any user of the machine can read."""
    warnings = []
    for path, what in ((config.password_file, "mot de passe"), (config.token_file, "jeton")):
        if path is None:
            continue
        try:
            mode = path.stat().st_mode
        except OSError:
            continue  # reading it reports the problem
        if mode & stat.S_IROTH:
            warnings.append(
                f"le fichier de {what} {path} est lisible par tous les utilisateurs de la "
                f"machine (droits {stat.filemode(mode)}) : restreignez-le à l'utilisateur "
                "qui lance certsync (chmod 600)"
            )
    return warnings


def load_credentials(config: PlatformConfig, env: Mapping[str, str] | None = None) -> Credentials:
    """Environment variables first, then the files the configuration points to.

    The password and token are added to the values every log line masks, wherever they came
    from; a secret file readable by everyone is warned about.
    """
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    for warning in exposed_secret_files(config):
        log.warning("ATTENTION : %s.", warning)
    for name, var, path, what in (
        ("user", "CERTSYNC_USER", config.user_file, "l'identifiant"),
        ("password", "CERTSYNC_PASSWORD", config.password_file, "mot de passe"),
        ("token", "CERTSYNC_TOKEN", config.token_file, "jeton"),
    ):
        value = env.get(var, "").strip()
        if not value and path is not None:
            value = _read_secret(path, what)
        if name != "user":
            add_secret(value)
        values[name] = value
    return Credentials(**values)
