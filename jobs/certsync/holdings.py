"""What the platform's accounts hold now, read through the connector (for `certsync expiring`)."""

from __future__ import annotations

from cryptography import x509

from certsync.config import Config
from certsync.connectors import make_connector
from certsync.connectors.pem import der_of_text, sha256_hex
from certsync.renewal import PlatformCertificate


def platform_certificates(config: Config) -> list[PlatformCertificate]:
    """What every account of the platform holds now (certificates put by hand included)."""
    connector = make_connector(config.platform, url=config.platform.url)
    found: list[PlatformCertificate] = []
    try:
        connector.check()
        for account in connector.list_accounts().values():
            der = der_of_text(connector.read_certificate(account))
            if der is None:
                continue
            not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
            found.append(
                PlatformCertificate(
                    account.email, sha256_hex(der), not_after, account.prenom, account.nom
                )
            )
    finally:
        connector.close()
    return found
