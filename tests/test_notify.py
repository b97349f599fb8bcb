"""Tests for reminder e-mails, against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certsync.config import SmtpConfig
from certsync.errors import ConfigError, ExitCode
from certsync.notify import (
    NotifyStatus,
    SmtpAuthError,
    SmtpUnavailable,
    notify,
    notify_expiring,
)
from certsync.renewal import ExpiringEntry
from certsync.state import StateStore, StoredCert
from certsync.testkit.pki import SamplePKI, agent_subject, make_leaf

NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)
AS_OF = NOW.date()


@dataclass
class Recorder:
    """aiosmtpd handler keeping every message, and refusing some recipients."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[bytes] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "server.pem").write_bytes(cert_pem)
    (tmp_path / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    client_ctx = ssl.create_default_context(cadata=cert_pem.decode())
    return server_ctx, client_ctx


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Recorder, int, ssl.SSLContext]]:
    server_ctx, client_ctx = _self_signed(tmp_path)
    handler = Recorder()

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        ok = (auth_data.login, auth_data.password) == (b"relay", b"p4ss")
        if ok:
            handler.logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)  # handled=True would send no reply

    port = _free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    yield handler, port, client_ctx
    controller.stop()


def _smtp(port: int, *, starttls: bool = False) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=port,
        starttls=starttls,
        sender="certificats@megalis.bretagne.bzh",
        reply_to="support@megalis.bretagne.bzh",
        send_to_address="depot-certificats@megalis.bretagne.bzh",
    )


@pytest.fixture
def store(tmp_path: Path, pki: SamplePKI) -> Iterator[StateStore]:
    with StateStore.open(tmp_path / "state.sqlite") as opened:
        for email, nom, days in (
            ("anne.le-bihan@plouha.fr", "LE BIHAN", 18),
            ("yann.morvan@plouha.fr", "MORVAN", -3),
            ("loic.tanguy@lannion.fr", "TANGUY", 200),
        ):
            issued = make_leaf(
                pki.certigna_ca,
                agent_subject("Anne", nom, org="Commune de Plouha"),
                not_before=NOW - dt.timedelta(days=900),
                not_after=NOW + dt.timedelta(days=days),
            )
            opened.record_write(
                run_id="push-1",
                platform="socle",
                account_id=email,
                email=email,
                cert=StoredCert.from_der(issued.der),
                old_der=None,
                at=NOW,
                prenom=email.split(".")[0].capitalize(),
                nom=nom,
                organisation="Commune de Plouha",
            )
        yield opened


def _run(store: StateStore, smtp: SmtpConfig, within: int = 30, **kw: Any):
    return notify_expiring(
        store, smtp, within_days=within, as_of=AS_OF, now=NOW, run_id="notify-1", **kw
    )


def test_reminders_sent_once(server: tuple[Recorder, int], store: StateStore) -> None:
    handler, port = server
    outcomes = _run(store, _smtp(port))
    assert [(o.email, o.status) for o in outcomes] == [
        ("yann.morvan@plouha.fr", NotifyStatus.SENT),
        ("anne.le-bihan@plouha.fr", NotifyStatus.SENT),
    ]
    by_to = {m["To"]: m for m in handler.messages}
    assert set(by_to) == {"anne.le-bihan@plouha.fr", "yann.morvan@plouha.fr"}
    anne = by_to["anne.le-bihan@plouha.fr"]
    assert anne["Subject"] == "Votre certificat RGS expire le 15/12/2026 : pensez à le renouveler"
    assert anne["From"] == "certificats@megalis.bretagne.bzh"
    assert anne["Reply-To"] == "support@megalis.bretagne.bzh"
    assert anne["Auto-Submitted"] == "auto-generated"
    body = anne.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Bonjour Anne LE BIHAN," in text
    assert "expire le 15/12/2026 (dans 18 jours)" in text
    assert "certmgr.msc" in text
    assert "« Non, ne pas exporter la clé privée »" in text
    assert "« X.509 encodé en base 64 (.cer) »" in text
    assert "Envoyez ce fichier .cer à : depot-certificats@megalis.bretagne.bzh" in text
    yann = by_to["yann.morvan@plouha.fr"]
    assert yann["Subject"] == "Votre certificat RGS a expiré le 24/11/2026"

    again = _run(store, _smtp(port))
    assert {o.status for o in again} == {NotifyStatus.ALREADY_SENT}
    assert len(handler.messages) == 2

    # Another threshold is another reminder.
    closer = _run(store, _smtp(port), within=7)
    assert [o.status for o in closer] == [NotifyStatus.SENT]
    assert len(handler.messages) == 3


def test_dry_run_sends_and_records_nothing(server: tuple[Recorder, int], store: StateStore) -> None:
    handler, port = server
    outcomes = _run(store, _smtp(port), dry_run=True)
    assert [o.status for o in outcomes] == [NotifyStatus.WOULD_SEND] * 2
    assert outcomes[0].mail is not None
    assert outcomes[0].mail["To"] == "yann.morvan@plouha.fr"
    assert handler.messages == []
    assert not store.was_notified("yann.morvan@plouha.fr", outcomes[0].sha256, 30)
    # Dry run needs no server at all.
    assert len(_run(store, SmtpConfig(sender="x@y.fr"), dry_run=True)) == 2


def test_starttls_and_login(
    tls_server: tuple[Recorder, int, ssl.SSLContext], store: StateStore
) -> None:
    handler, port, client_ctx = tls_server
    env = {"CERTSYNC_SMTP_USER": "relay", "CERTSYNC_SMTP_PASSWORD": "p4ss"}
    outcomes = _run(store, _smtp(port, starttls=True), tls_context=client_ctx, env=env)
    assert [o.status for o in outcomes] == [NotifyStatus.SENT] * 2
    assert handler.logins == [b"relay"]
    assert len(handler.messages) == 2


def test_starttls_untrusted_server_certificate_is_refused(
    tls_server: tuple[Recorder, int, ssl.SSLContext], store: StateStore
) -> None:
    _, port, _ = tls_server
    with pytest.raises(SmtpUnavailable) as raised:
        _run(store, _smtp(port, starttls=True), env={})  # system trust store: self-signed fails
    assert raised.value.exit_code == ExitCode.PLATFORM_UNAVAILABLE


def test_bad_credentials(
    tls_server: tuple[Recorder, int, ssl.SSLContext], store: StateStore
) -> None:
    _, port, client_ctx = tls_server
    env = {"CERTSYNC_SMTP_USER": "relay", "CERTSYNC_SMTP_PASSWORD": "wrong"}
    with pytest.raises(SmtpAuthError) as raised:
        _run(store, _smtp(port, starttls=True), tls_context=client_ctx, env=env)
    assert "wrong" not in str(raised.value)
    assert not store.was_notified("yann.morvan@plouha.fr", "x", 30)


def test_starttls_not_offered(server: tuple[Recorder, int], store: StateStore) -> None:
    _, port = server
    with pytest.raises(SmtpUnavailable, match="STARTTLS"):
        _run(store, _smtp(port, starttls=True), env={})


def test_refused_recipient_is_reported_and_retried_next_time(
    server: tuple[Recorder, int], store: StateStore
) -> None:
    handler, port = server
    handler.refuse.add("yann.morvan@plouha.fr")
    outcomes = _run(store, _smtp(port))
    assert [(o.email, o.status) for o in outcomes] == [
        ("yann.morvan@plouha.fr", NotifyStatus.FAILED),
        ("anne.le-bihan@plouha.fr", NotifyStatus.SENT),
    ]
    assert "refusé" in outcomes[0].message
    handler.refuse.clear()
    assert [o.status for o in _run(store, _smtp(port))] == [
        NotifyStatus.SENT,
        NotifyStatus.ALREADY_SENT,
    ]


def test_server_down(store: StateStore) -> None:
    with pytest.raises(SmtpUnavailable, match="injoignable"):
        _run(store, _smtp(_free_port()), env={})


def test_configuration_required(store: StateStore) -> None:
    with pytest.raises(ConfigError, match="host"):
        _run(store, SmtpConfig(sender="x@y.fr"))
    with pytest.raises(ConfigError, match="sender"):
        _run(store, SmtpConfig(host="127.0.0.1"), dry_run=True)


def test_header_injection_in_address_is_refused(store: StateStore) -> None:
    entry = ExpiringEntry(
        "a@b.fr\r\nBcc: victim@x.fr", "A", "B", "O", "ab" * 32, "", NOW, 0, "platform"
    )
    [outcome] = notify(
        store,
        [entry],
        SmtpConfig(sender="x@y.fr"),
        threshold_days=30,
        now=NOW,
        run_id="r",
        dry_run=True,
    )
    assert outcome.status is NotifyStatus.FAILED


def test_quiet_monday_prints_only_what_it_sent(
    server: tuple[Recorder, int], store: StateStore, tmp_path: Path, capsys
) -> None:
    from certsync import cli

    recorder, port = server
    config = tmp_path / "smtp.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        'sender = "certificats@megalis.bretagne.bzh"\n',
        encoding="utf-8",
    )
    store.close()
    args = ["notify", "--within", "30", "--as-of", AS_OF.isoformat(), "--quiet",
            "--state", str(tmp_path / "state.sqlite"), "--config", str(config)]  # fmt: skip
    assert cli.main(args) == 0
    first = capsys.readouterr().out
    assert len(recorder.messages) == 2 and "anne.le-bihan@plouha.fr" in first
    assert cli.main(args) == 0  # the same reminders were already sent: nothing to say
    assert capsys.readouterr().out == "" and len(recorder.messages) == 2
