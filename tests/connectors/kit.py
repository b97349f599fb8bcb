"""Shared helpers for connector, sandbox and push tests: agents, certificates, fast settings."""

from __future__ import annotations

import time
from dataclasses import dataclass

from certsync.config import PLATFORMS as PLATFORMS  # re-exported: tests parametrize over it
from certsync.config import PlatformConfig
from certsync.connectors import make_connector
from certsync.connectors.http import RetryPolicy
from certsync.connectors.interface import Connector
from certsync.connectors.pem import sha256_hex
from certsync.push import PushItem
from certsync.records import Agent
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER
from certsync.testkit.pki import agent_subject, make_leaf, sample_pki

ENV = {"CERTSYNC_USER": DEMO_USER, "CERTSYNC_PASSWORD": DEMO_PASSWORD, "CERTSYNC_TOKEN": DEMO_TOKEN}
NAMES = [
    ("Hélène", "Le Bihan"),
    ("Yann", "Kergoat"),
    ("Maëlle", "Tanguy"),
    ("Loïc", "Riou"),
    ("Soizic", "Le Gall"),
    ("Erwan", "Morvan"),
    ("Nolwenn", "Guégan"),
    ("Gwenaël", "Caër"),
]


@dataclass(frozen=True)
class Person:
    """An agent with a certificate."""

    agent: Agent
    der: bytes
    pem: bytes

    @property
    def item(self) -> PushItem:
        return PushItem(self.agent.row, self.agent, sha256_hex(self.der), self.der)

    @property
    def account_row(self) -> dict[str, str]:
        return {"email": self.agent.email, "nom": self.agent.nom, "prenom": self.agent.prenom}


def people(n: int, *, start: int = 0) -> list[Person]:
    """n agents (rows from 2) with distinct certificates from the test PKI."""
    ca = sample_pki().chambersign_ca
    out = []
    for i in range(start, start + n):
        prenom, nom = NAMES[i % len(NAMES)]
        email = f"agent{i}@commune-{i % 3}.bzh"
        issued = make_leaf(ca, agent_subject(prenom, nom, email=email))
        out.append(Person(Agent(i + 2, email, nom, prenom), issued.der, issued.pem))
    return out


def fast_config(name: str, **changes: object) -> PlatformConfig:
    """Short timeouts, many attempts (30 % of 503 must not exhaust them), no rate cap."""
    values: dict[str, object] = {
        "name": name,
        "workers": 4,
        "rate_per_second": 0.0,
        "timeout_seconds": 0.4,
        "connect_timeout_seconds": 0.4,
        "max_attempts": 10,
        "breaker_threshold": 3,
        "retry_after_cap_seconds": 5.0,
        "authority_id": "1",
        "entity_id": "1",
    }
    values.update(changes)
    return PlatformConfig(**values)  # type: ignore[arg-type]


def fast_retry(config: PlatformConfig, slept: list[float] | None = None) -> RetryPolicy:
    """Backoff in milliseconds; waits are recorded and capped at 20 ms."""

    def sleep(seconds: float) -> None:
        if slept is not None:
            slept.append(seconds)
        time.sleep(min(seconds, 0.02))

    return RetryPolicy(
        max_attempts=config.max_attempts,
        backoff_initial=0.005,
        backoff_max=0.02,
        retry_after_cap=config.retry_after_cap_seconds,
        sleep=sleep,
    )


def connect(
    name: str,
    url: str,
    *,
    env: dict[str, str] | None = None,
    slept: list[float] | None = None,
    **changes: object,
) -> Connector:
    """A connector with fast settings."""
    config = fast_config(name, **changes)
    return make_connector(
        config, url=url, env=ENV if env is None else env, retry=fast_retry(config, slept)
    )
