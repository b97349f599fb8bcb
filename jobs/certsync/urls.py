"""Platform addresses checked before anything starts, with the fix in the message."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from certsync.errors import CertsyncError, ConfigError, UsageError

# A host name label, an IPv4 address or a bracketed IPv6 address (urlsplit strips brackets).
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


def check_url(value: str, *, where: str = "--url", from_config: bool = False) -> str:
    """The URL unchanged when it is usable (http or https, a host, a valid port), else raise.

    A command-line mistake is a usage error (2); the same mistake in the configuration file is
    a configuration error (78).
    """
    error: type[CertsyncError] = ConfigError if from_config else UsageError
    text = value.strip()
    example = f"https://{text.split('://', 1)[-1].lstrip('/')}" if text else "https://…"
    if "://" not in text:
        raise error(
            f"Adresse de plateforme invalide ({where}) : « {value} » — il manque « https:// ».",
            hint=f"Écrivez l'adresse complète, par exemple {where.split(' ')[0]} {example}.",
        )
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"}:
        raise error(
            f"Adresse de plateforme invalide ({where}) : « {value} » — le protocole "
            f"« {parts.scheme} » n'est pas accepté.",
            hint=f"L'adresse doit commencer par https:// (par exemple {example}).",
        )
    if parts.username or parts.password:
        raise error(
            f"Adresse de plateforme invalide ({where}) : elle contient un identifiant.",
            hint="Retirez « identifiant:mot-de-passe@ » de l'adresse ; les identifiants "
            "viennent de CERTSYNC_USER / CERTSYNC_PASSWORD ou des fichiers de la configuration.",
        )
    host = parts.hostname or ""
    if not host or not _host_ok(host) or any(c.isspace() for c in text):
        raise error(
            f"Adresse de plateforme invalide ({where}) : « {value} » — nom de serveur absent "
            "ou incorrect.",
            hint="Écrivez une adresse de la forme https://serveur.exemple.fr (sans espace).",
        )
    try:
        parts.port  # noqa: B018 -- parsing the port is the check
    except ValueError:
        raise error(
            f"Adresse de plateforme invalide ({where}) : « {value} » — numéro de port incorrect.",
            hint="Le port, après « : », est un nombre de 1 à 65535 (ou omettez-le).",
        ) from None
    return text


def _host_ok(host: str) -> bool:
    if ":" in host:  # IPv6 literal
        return all(c in "0123456789abcdefABCDEF:." for c in host)
    try:
        labels = host.encode("idna").decode("ascii").rstrip(".").split(".")
    except UnicodeError:
        return False
    return all(_LABEL.match(label) for label in labels)
