"""French names for what a certificate holds (subject fields, key usages, extended usages),
so that `inspect` shows « Prénom » and « Authentification client », not OIDs."""

from __future__ import annotations

from cryptography import x509

#: Subject and issuer attributes, by dotted OID.
NAME_FR = {
    "2.5.4.3": "Nom commun",
    "2.5.4.42": "Prénom",
    "2.5.4.4": "Nom",
    "2.5.4.12": "Fonction",
    "2.5.4.11": "Unité",
    "2.5.4.10": "Organisation",
    "2.5.4.97": "Identifiant d'organisme",
    "2.5.4.7": "Ville",
    "2.5.4.8": "Région",
    "2.5.4.6": "Pays",
    "2.5.4.9": "Adresse",
    "2.5.4.17": "Code postal",
    "2.5.4.5": "Numéro de série",
    "2.5.4.65": "Pseudonyme",
    "2.5.4.43": "Initiales",
    "2.5.4.44": "Génération",
    "2.5.4.46": "Qualifiant",
    "1.2.840.113549.1.9.1": "E-mail",
    "0.9.2342.19200300.100.1.1": "Identifiant",
    "0.9.2342.19200300.100.1.25": "Composant de domaine",
}

#: keyUsage bits, by cryptography's attribute name.
KEY_USAGE_FR = {
    "digital_signature": "Signature numérique",
    "content_commitment": "Non-répudiation",
    "key_encipherment": "Chiffrement de clé",
    "data_encipherment": "Chiffrement de données",
    "key_agreement": "Accord de clé",
    "key_cert_sign": "Signature de certificats",
    "crl_sign": "Signature de listes de révocation",
    "encipher_only": "Chiffrement seul",
    "decipher_only": "Déchiffrement seul",
}

#: Extended key usages, by dotted OID.
EKU_FR = {
    "1.3.6.1.5.5.7.3.1": "Authentification serveur",
    "1.3.6.1.5.5.7.3.2": "Authentification client",
    "1.3.6.1.5.5.7.3.3": "Signature de code",
    "1.3.6.1.5.5.7.3.4": "Protection du courrier électronique",
    "1.3.6.1.5.5.7.3.8": "Horodatage",
    "1.3.6.1.5.5.7.3.9": "Signature de réponses OCSP",
    "1.3.6.1.4.1.311.20.2.2": "Ouverture de session par carte à puce",
    "1.3.6.1.4.1.311.10.3.12": "Signature de documents",
    "1.2.840.113583.1.1.5": "Signature de PDF",
    "2.5.29.37.0": "Tous usages",
}

#: How the file was written, as `inspect` says it.
FORMAT_FR = {
    "pem": "PEM (texte)",
    "pem-utf16": "PEM enregistré en UTF-16 (Bloc-notes)",
    "der": "DER (binaire)",
    "base64": "base64 sans en-tête",
    "pkcs7": "PKCS#7 (.p7b)",
    "pkcs12": "PKCS#12 (.pfx/.p12, avec clé privée)",
    "private-key": "clé privée",
    "unknown": "inconnu",
}


def name_fields(name: x509.Name) -> list[tuple[str, str]]:
    """Each attribute of a subject or issuer as (French label, value), most specific first."""
    out = []
    for attribute in reversed(list(name)):
        oid = attribute.oid.dotted_string
        value = attribute.value
        text = value if isinstance(value, str) else bytes(value).hex()
        out.append((NAME_FR.get(oid, f"OID {oid}"), text))
    return out


def key_usages(names: tuple[str, ...]) -> list[str]:
    """keyUsage bits in French."""
    return [KEY_USAGE_FR.get(n, n) for n in names]


def extended_usages(oids: tuple[str, ...]) -> list[str]:
    """Extended key usages in French (an unknown one keeps its OID)."""
    return [EKU_FR.get(o, f"OID {o}") for o in oids]
