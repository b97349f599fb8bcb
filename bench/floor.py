"""The floor: read each file, parse it, SHA-256 it and verify its chain; nothing else.

Single process, on purpose: the job is measured against what one core needs for the
irreducible work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store


def main(certs: Path, trust: Path, as_of: dt.datetime) -> int:
    bundle = x509.load_pem_x509_certificates(trust.read_bytes())
    roots = [c for c in bundle if c.subject == c.issuer]
    intermediates = [c for c in bundle if c.subject != c.issuer]
    verifier = (
        PolicyBuilder()
        .store(Store(roots))
        .time(as_of)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()
        )
        .build_client_verifier()
    )
    verified = 0
    for folder, _dirs, names in os.walk(certs):
        for name in names:
            data = (Path(folder) / name).read_bytes()
            try:
                if data[:1] == b"\x30":
                    cert = x509.load_der_x509_certificate(data)
                else:
                    cert = x509.load_pem_x509_certificate(data)
            except ValueError:
                continue
            hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
            try:
                verifier.verify(cert, intermediates)
                verified += 1
            except Exception:  # noqa: S112 — the floor only counts, it does not report
                continue
    print(verified)
    return 0


if __name__ == "__main__":
    when = dt.datetime.fromisoformat(sys.argv[3]).replace(tzinfo=dt.UTC)
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2]), when))
