"""`certsync inspect`: the "Vérifier le certificat" button that really checks."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from certsync.certfiles.scan import read_file
from certsync.commands.common import config_from_args, now_utc
from certsync.errors import ExitCode, InputError
from certsync.findings import Finding
from certsync.ingest import CheckSetup, make_validator
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


_LABELS = {
    "format": "Format",
    "sujet": "Sujet",
    "emetteur": "Émetteur",
    "numero_de_serie": "Numéro de série",
    "valide_du": "Valide du",
    "valide_au": "Valide au",
    "sha256": "SHA-256",
    "sha1": "SHA-1",
    "cle": "Clé",
    "usage_de_cle": "Usage de clé",
    "usage_etendu": "Usage étendu",
    "politiques": "Politiques",
    "emails": "E-mail",
    "organisme": "SIREN/SIRET",
    "chaine_incluse": "Chaîne incluse",
}


def cmd_inspect(args: argparse.Namespace) -> int:
    """`certsync inspect`: what each file is and every finding about it."""
    config = config_from_args(args)
    as_of = args.as_of or now_utc()
    trust = load_trust_store(config)
    validator = make_validator(CheckSetup(config.trust, config.policy, as_of), trust)
    described = []
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
        blocking = blocking or any(f.blocking for f in findings)
        described.append(_describe_file(cf, findings))
    if args.json:
        json.dump(described, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for item in described:
            print(f"== {item['fichier']}")
            for key, label in _LABELS.items():
                if key in item and item[key] not in ([], ""):
                    value = item[key]
                    text = ", ".join(value) if isinstance(value, list) else value
                    print(f"  {label:16}: {text}")
            if not item["constats"]:
                print("  Constats        : aucun — certificat utilisable")
            for f in item["constats"]:
                print(f"  [{f['gravite']}] {f['code']} : {f['message']}")
                print(f"      → {f['action']}")
    return int(ExitCode.FINDINGS if blocking else ExitCode.OK)
