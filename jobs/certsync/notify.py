"""Reminder e-mails to agents whose certificate expires, once per certificate and threshold."""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from pathlib import Path

from certsync.config import SmtpConfig
from certsync.errors import CertsyncError, ConfigError, ExitCode
from certsync.fsutil import atomic_write_bytes
from certsync.renewal import ExpiringEntry, PlatformCertificate, expiring
from certsync.state import StateStore

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class SmtpUnavailable(CertsyncError):
    """The mail server cannot be reached or dropped the connection."""

    exit_code = ExitCode.PLATFORM_UNAVAILABLE


class SmtpAuthError(CertsyncError):
    """The mail server refused the credentials."""

    exit_code = ExitCode.PLATFORM_AUTH


class NotifyStatus(StrEnum):
    """What happened to one reminder."""

    SENT = "sent"
    WOULD_SEND = "would_send"
    ALREADY_SENT = "already_sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NotifyOutcome:
    """One reminder's outcome, for the report and the terminal."""

    email: str
    sha256: str
    status: NotifyStatus
    message: str
    """French, for the administrator."""
    mail: EmailMessage | None = field(default=None, compare=False)
    """The message built (sent, or shown by --dry-run)."""


def build_reminder(entry: ExpiringEntry, smtp: SmtpConfig, now: datetime) -> EmailMessage:
    """The French reminder: what expires and when, how to export the new certificate, where to."""
    when = f"{entry.not_after:%d/%m/%Y}"
    send_to = smtp.send_to_address or smtp.sender
    name = _CONTROL.sub(" ", f"{entry.prenom} {entry.nom}").strip()
    if entry.expired:
        subject = f"Votre certificat RGS a expiré le {when}"
        status = f"a expiré le {when}"
    else:
        subject = f"Votre certificat RGS expire le {when} : pensez à le renouveler"
        status = (
            f"expire le {when} (dans {entry.days_left} jour{'s' if entry.days_left > 1 else ''})"
        )
    details = [f"  Certificat : {entry.common_name}"] if entry.common_name else []
    if entry.organisation:
        details.append(f"  Organisme : {entry.organisation}")
    details.append(f"  Empreinte SHA-256 : {entry.sha256}")
    body = f"""Bonjour{" " + name if name else ""},

Le certificat électronique enregistré sur votre compte Mégalis Bretagne {status}.
{chr(10).join(details)}

Après cette date, vous ne pourrez plus vous connecter aux services de Mégalis Bretagne
avec ce certificat. Si ce n'est pas encore fait, commandez son renouvellement auprès de
votre autorité de certification.

Dès que vous avez reçu votre nouveau certificat, envoyez-nous sa partie publique :

 1. Branchez le support (clé USB ou carte) qui contient le nouveau certificat.
 2. Ouvrez le gestionnaire de certificats : sous Windows, tapez « certmgr.msc » dans le
    menu Démarrer puis ouvrez « Personnel » > « Certificats » ; ou ouvrez le logiciel
    fourni avec votre support.
 3. Sélectionnez le nouveau certificat (à votre nom, avec la date d'expiration la plus
    lointaine).
 4. Clic droit > « Toutes les tâches » > « Exporter… ».
 5. Choisissez « Non, ne pas exporter la clé privée ».
 6. Choisissez le format « X.509 encodé en base 64 (.cer) ».
 7. Enregistrez le fichier, par exemple sous le nom Prenom_NOM.cer.

Envoyez ce fichier .cer à : {send_to}

N'envoyez jamais de fichier .p12 ou .pfx, ni le code de votre support : ils donnent accès
à votre clé privée, qui ne doit jamais quitter votre support.

Ce message a été envoyé automatiquement le {now:%d/%m/%Y}.
"""
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = smtp.sender
    mail["To"] = entry.email
    if smtp.reply_to:
        mail["Reply-To"] = smtp.reply_to
    mail["Date"] = formatdate(now.timestamp(), localtime=True)
    mail["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    # RFC 3834: tells mail servers and out-of-office responders this was sent by a program.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body, charset="utf-8")
    return mail


def notify(
    store: StateStore,
    entries: Iterable[ExpiringEntry],
    smtp: SmtpConfig,
    *,
    threshold_days: int,
    now: datetime,
    run_id: str,
    dry_run: bool = False,
    tls_context: ssl.SSLContext | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> list[NotifyOutcome]:
    """Send each entry its reminder unless already sent for this certificate and threshold."""
    if not smtp.sender:
        raise ConfigError(
            "Configuration : « [smtp] sender » est vide.",
            hint="Indiquez l'adresse d'expédition des rappels dans la section [smtp].",
        )
    if not smtp.host and not dry_run:
        raise ConfigError(
            "Configuration : « [smtp] host » est vide : aucun serveur de messagerie.",
            hint="Indiquez le serveur SMTP dans la section [smtp], ou utilisez --dry-run.",
        )
    outcomes: list[NotifyOutcome] = []
    client: smtplib.SMTP | None = None
    try:
        for entry in entries:
            if store.was_notified(entry.email, entry.sha256, threshold_days):
                outcomes.append(_outcome(entry, NotifyStatus.ALREADY_SENT, "Rappel déjà envoyé."))
                continue
            try:
                mail = build_reminder(entry, smtp, now)
            except ValueError as exc:  # a header the e-mail library refuses (line break, …)
                text = f"Adresse inutilisable pour un envoi ({exc})."
                outcomes.append(_outcome(entry, NotifyStatus.FAILED, text))
                continue
            if dry_run:
                text = f"Rappel à envoyer : {mail['Subject']}."
                outcomes.append(_outcome(entry, NotifyStatus.WOULD_SEND, text, mail))
                continue
            client = client or _connect(smtp, tls_context, env or os.environ, timeout)
            outcomes.append(_send(client, store, entry, mail, threshold_days, now, run_id))
    finally:
        if client is not None:
            try:
                client.quit()
            except smtplib.SMTPException:
                client.close()
    return outcomes


def notify_expiring(
    store: StateStore,
    smtp: SmtpConfig,
    *,
    within_days: int,
    as_of: date,
    now: datetime,
    run_id: str,
    dry_run: bool = False,
    platform: Iterable[PlatformCertificate] | None = None,
    tls_context: ssl.SSLContext | None = None,
    env: Mapping[str, str] | None = None,
) -> list[NotifyOutcome]:
    """`certsync notify --within DAYS`: remind every agent whose certificate expires soon."""
    entries = expiring(store, within_days, as_of, platform)
    return notify(
        store,
        entries,
        smtp,
        threshold_days=within_days,
        now=now,
        run_id=run_id,
        dry_run=dry_run,
        tls_context=tls_context,
        env=env,
    )


def _outcome(
    entry: ExpiringEntry, status: NotifyStatus, message: str, mail: EmailMessage | None = None
) -> NotifyOutcome:
    return NotifyOutcome(entry.email, entry.sha256, status, message, mail)


def _connect(
    smtp: SmtpConfig, tls_context: ssl.SSLContext | None, env: Mapping[str, str], timeout: float
) -> smtplib.SMTP:
    where = f"{smtp.host}:{smtp.port}"
    try:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpUnavailable(
            f"Serveur de messagerie injoignable : {where} ({exc}).",
            hint="Vérifiez « [smtp] host » et « port » ; aucun rappel n'a été envoyé.",
        ) from exc
    try:
        client.ehlo()
        if smtp.starttls:
            client.starttls(context=tls_context or ssl.create_default_context())
            client.ehlo()
        user = env.get("CERTSYNC_SMTP_USER", "")
        if user:
            if not smtp.starttls:
                log.warning("SMTP credentials sent without STARTTLS to %s", where)
            client.login(user, env.get("CERTSYNC_SMTP_PASSWORD", ""))
    except smtplib.SMTPAuthenticationError as exc:
        client.close()
        raise SmtpAuthError(
            f"Le serveur de messagerie {where} a refusé l'identifiant {user!r}.",
            hint="Vérifiez CERTSYNC_SMTP_USER et CERTSYNC_SMTP_PASSWORD.",
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        client.close()
        raise SmtpUnavailable(
            f"Le serveur de messagerie {where} ne propose pas STARTTLS (ou l'authentification).",
            hint="Vérifiez « [smtp] starttls » et le port (587 en général).",
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        raise SmtpUnavailable(
            f"Échec de la connexion sécurisée au serveur de messagerie {where} ({exc}).",
            hint="Vérifiez le certificat du serveur, « [smtp] starttls » et le port.",
        ) from exc
    return client


def _send(
    client: smtplib.SMTP,
    store: StateStore,
    entry: ExpiringEntry,
    mail: EmailMessage,
    threshold_days: int,
    now: datetime,
    run_id: str,
) -> NotifyOutcome:
    try:
        client.send_message(mail)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        return _outcome(entry, NotifyStatus.FAILED, f"Message refusé par le serveur ({exc}).", mail)
    except (OSError, smtplib.SMTPException) as exc:
        # Reminders already sent are recorded: the next run resumes with the others.
        raise SmtpUnavailable(
            f"Connexion au serveur de messagerie perdue pendant l'envoi ({exc}).",
            hint="Relancez plus tard : les rappels déjà envoyés ne seront pas renvoyés.",
        ) from exc
    # Recorded after sending: a crash in between may send one reminder twice, never lose one.
    store.record_notification(
        email=entry.email,
        sha256=entry.sha256,
        threshold_days=threshold_days,
        sent_at=now,
        run_id=run_id,
    )
    return _outcome(entry, NotifyStatus.SENT, f"Rappel envoyé à {entry.email}.", mail)


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9.@_+-]+")


def write_eml(outcomes: list[NotifyOutcome], folder: Path) -> list[Path]:
    """Each message a real run would send, as a .eml file any mail client opens."""
    written = []
    for i, o in enumerate(outcomes, start=1):
        if o.mail is None:
            continue
        path = folder / f"{i:04d}-{_UNSAFE_NAME.sub('_', o.email)[:80]}.eml"
        atomic_write_bytes(path, o.mail.as_bytes())
        written.append(path)
    return written
