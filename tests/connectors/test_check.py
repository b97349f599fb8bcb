"""check(): an answer from the wrong kind of server is a protocol error, raised before any write."""

from __future__ import annotations

import pytest

from certsync.errors import PlatformProtocolError
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials
from tests.connectors.kit import connect


@pytest.mark.parametrize(
    ("platform", "other"), [("socle", "s2low"), ("s2low", "pastell"), ("pastell", "socle")]
)
def test_wrong_kind_of_server_is_a_protocol_error(platform: str, other: str) -> None:
    env = {"CERTSYNC_USER": DEMO_USER, "CERTSYNC_PASSWORD": DEMO_PASSWORD}
    with start_sandbox(other, credentials=SandboxCredentials()) as sandbox:
        with pytest.raises(PlatformProtocolError) as caught:
            connect(platform, sandbox.url, env=env).check()
        assert caught.value.message.startswith("Réponse inattendue de la plateforme")
