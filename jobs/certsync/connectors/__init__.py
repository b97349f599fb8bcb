"""Connectors to the Mégalis platform (socle, S²LOW, Pastell) behind one protocol."""

from __future__ import annotations

from collections.abc import Mapping

from certsync.config import PLATFORMS, PlatformConfig
from certsync.connectors.credentials import load_credentials
from certsync.connectors.http import RetryPolicy
from certsync.connectors.interface import Connector
from certsync.errors import ConfigError


def make_connector(
    config: PlatformConfig,
    *,
    url: str,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
) -> Connector:
    """The connector for `config.name` at `url`.

    Credentials come from CERTSYNC_USER/CERTSYNC_PASSWORD/CERTSYNC_TOKEN (`env`, default the
    process environment) or the files the configuration names. `retry` overrides the backoff
    (tests inject a short sleep); by default it follows max_attempts and retry_after_cap_seconds.
    """
    credentials = load_credentials(config, env)
    if config.name == "socle":
        from certsync.connectors.socle import SocleConnector

        return SocleConnector(config, url, credentials, retry=retry)
    if config.name == "s2low":
        from certsync.connectors.s2low import S2lowConnector

        return S2lowConnector(config, url, credentials, retry=retry)
    if config.name == "pastell":
        from certsync.connectors.pastell import PastellConnector

        return PastellConnector(config, url, credentials, retry=retry)
    raise ConfigError(
        f"Configuration : plateforme inconnue « {config.name} ».",
        hint=f"Valeurs acceptées : {', '.join(PLATFORMS)}.",
    )


__all__ = ["PLATFORMS", "Connector", "make_connector"]
