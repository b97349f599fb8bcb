"""`certsync inspect`: the "Vérifier le certificat" button that really checks."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cryptography import x509

from certsync.certfiles.scan import read_file
from certsync.commands.common import config_from_args, now_utc
from certsync.errors import ExitCode, InputError
from certsync.findings import Finding, any_blocking
from certsync.frenchfmt import fr_datetime
from certsync.ingest import CheckSetup, make_validator
from certsync.labels_fr import FORMAT_FR, extended_usages, key_usages, name_fields
from certsync.pipeline import load_trust_store
from certsync.records import CertFile


def _describe_file(cf: CertFile, findings: list[Finding]) -> dict[str, Any]:
    info = cf.cert
    out: dict[str, Any] = {"fichier": cf.path, "format": str(cf.format)}
    if info is not None:
        out.update(
            {
                "sujet": info.subject,
                "emetteur": info.issuer,
                "numero_de_serie": info.serial,
                "valide_du": info.not_before.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "valide_au": info.not_after.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "sha256": info.sha256,
                "sha1": info.sha1,
                "cle": f"{info.key_type} {info.key_size} bits"
                + (f" ({info.key_curve})" if info.key_curve else ""),
                "usage_de_cle": list(info.key_usage),
                "usage_etendu": list(info.extended_key_usage),
                "politiques": list(info.policies),
                "emails": list(info.emails),
                "organisme": list(info.org_ids),
                "chaine_incluse": [c.subject for c in cf.chain],
            }
        )
    out["constats"] = [
        {
            "code": str(f.code),
            "gravite": f.severity.label,
            "message": f.message(),
            "action": f.action(),
        }
        for f in findings
    ]
    return out


def _text(cf: CertFile, findings: list[Finding]) -> list[str]:
    """What `inspect` prints for one file: French labels, French dates, no OIDs."""
    lines = [f"== {cf.path}", f"  {'Format':18}: {FORMAT_FR.get(str(cf.format), cf.format)}"]
    info = cf.cert
    if info is not None:
        cert = x509.load_der_x509_certificate(info.der)
        for title, name in (("Sujet", cert.subject), ("Émetteur", cert.issuer)):
            lines.append(f"  {title}")
            lines.extend(f"    {label:16}: {value}" for label, value in name_fields(name))
        key = f"{info.key_type} {info.key_size} bits" + (
            f" ({info.key_curve})" if info.key_curve else ""
        )
        fields = [
            ("Numéro de série", info.serial),
            ("Valide du", fr_datetime(info.not_before)),
            ("Valide jusqu'au", fr_datetime(info.not_after)),
            ("Empreinte SHA-256", info.sha256),
            ("Empreinte SHA-1", info.sha1),
            ("Clé", key),
            ("Usages de la clé", ", ".join(key_usages(info.key_usage))),
            ("Usages étendus", ", ".join(extended_usages(info.extended_key_usage))),
            ("Politiques", ", ".join(info.policies)),
            ("E-mail", ", ".join(info.emails)),
            ("SIREN/SIRET", ", ".join(info.org_ids)),
            ("Chaîne incluse", ", ".join(c.common_name or c.subject for c in cf.chain)),
        ]
        lines.extend(f"  {label:18}: {value}" for label, value in fields if value)
    if not findings:
        lines.append(f"  {'Constats':18}: aucun — certificat utilisable")
    for f in findings:
        lines.append(f"  [{f.severity.label}] {f.code} : {f.message()}")
        lines.append(f"      → {f.action()}")
    return lines


def cmd_inspect(args: argparse.Namespace) -> int:
    """`certsync inspect`: what each file is and every finding about it."""
    config = config_from_args(args)
    as_of = args.as_of or now_utc()
    trust = load_trust_store(config)
    validator = make_validator(CheckSetup(config.trust, config.policy, as_of), trust)
    described = []
    text: list[str] = []
    blocking = False
    for path in args.files:
        if not path.is_file():
            raise InputError(
                f"Fichier introuvable : {path}.", hint="Vérifiez le chemin du certificat."
            )
        cf = read_file(path.parent, path.name, config.limits)
        findings = list(cf.findings)
        if cf.cert is not None:
            findings.extend(validator.check(cf.cert, cf.chain))
        blocking = blocking or any_blocking(findings)
        described.append(_describe_file(cf, findings))
        text.extend(_text(cf, findings))
    if args.json:
        json.dump(described, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(text))
    return int(ExitCode.FINDINGS if blocking else ExitCode.OK)
