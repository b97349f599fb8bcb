"""S²LOW over mutual TLS on loopback: a generated server certificate and a client certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from certsync.errors import PlatformUnavailable
from certsync.push import push
from certsync.records import AgentStatus
from certsync.sandbox import TlsFiles, start_sandbox
from certsync.sandbox.server import SandboxCredentials
from certsync.testkit.pki import Issued, make_root, rsa_key
from tests.connectors.kit import connect, fast_config, people


def _issue(ca: Issued, cn: str, slot: int, *, server: bool) -> Issued:
    key = rsa_key(2048, slot)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if server:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _write(issued: Issued, folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    cert.write_bytes(issued.pem)
    key.write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


def test_push_over_mutual_tls(tmp_path: Path) -> None:
    ca = make_root("Sandbox Test CA", "certsync", key=rsa_key(2048, 950))
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    server_cert, server_key = _write(_issue(ca, "127.0.0.1", 951, server=True), tmp_path, "server")
    client_cert, client_key = _write(
        _issue(ca, "certsync admin", 952, server=False), tmp_path, "client"
    )
    persons = people(2)
    tls = TlsFiles(server_cert, server_key, client_ca=ca_file)
    with start_sandbox(
        "s2low",
        accounts=[p.account_row for p in persons],
        tls=tls,
        credentials=SandboxCredentials(),
    ) as sandbox:
        assert sandbox.url.startswith("https://")
        connector = connect(
            "s2low",
            sandbox.url,
            env={},
            client_cert=client_cert,
            client_key=client_key,
            ca_bundle=ca_file,
        )
        run = push([p.item for p in persons], connector, fast_config("s2low"))
        assert {o.status for o in run.outcomes} == {AgentStatus.PUSHED}
        assert all(a["writes"] == 1 for a in sandbox.accounts())

        anonymous = connect("s2low", sandbox.url, ca_bundle=ca_file)
        with pytest.raises(PlatformUnavailable) as caught:
            anonymous.check()
        assert "TLS" in caught.value.message
