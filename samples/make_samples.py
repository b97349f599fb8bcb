"""Generate the demo samples: a test PKI, agents' certificate files, rosters and a platform export.

Dates are fixed (the demo runs with --as-of 2026-03-02), so the outcome is the same every time;
only key material differs between two generations. `--check` generates only if files are missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from certsync.testkit.pki import (
    Issued,
    agent_subject,
    ec_key,
    make_leaf,
    make_root,
    rsa_key,
    sample_pki,
)
from certsync.testkit.rosters import write_csv, write_socle_export, write_xlsx

HERE = Path(__file__).resolve().parent
AS_OF = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

RENNES = ("Commune de Rennes", "213502388", "21350238800019", "Rennes")
METROPOLE = ("Rennes Métropole", "243500139", "24350013900189", "Rennes")
BREST = ("Commune de Brest", "212900468", "21290046800019", "Brest")


@dataclass(frozen=True)
class Person:
    prenom: str
    nom: str
    email: str
    org: tuple[str, str, str, str]
    title: str = "Agent"


P = {
    "eloise": Person("Éloïse", "LE GALL", "eloise.legall@ville-rennes.fr", RENNES, "DGS"),
    "thomas": Person("Thomas", "DUBOIS", "t.dubois@ville-rennes.fr", RENNES, "Secrétaire"),
    "jeanmarie": Person("Jean-Marie", "Le Goff", "jm.legoff@ville-rennes.fr", RENNES),
    "francoise": Person(
        "Françoise", "DUPONT épouse MARTIN", "francoise.martin@ville-rennes.fr", RENNES
    ),
    "nathalie1": Person("Nathalie", "MARTIN", "nathalie.martin@ville-rennes.fr", RENNES),
    "nathalie2": Person("Nathalie", "MARTIN", "n.martin2@ville-rennes.fr", RENNES),
    "gaelle": Person("Gaëlle", "KERHERVÉ", "gaelle.kerherve@rennesmetropole.fr", METROPOLE),
    "loic": Person("Loïc", "Derc'hen", "loic.derchen@rennesmetropole.fr", METROPOLE),
    "anne": Person("Anne-Sophie", "MOREAU", "as.moreau@rennesmetropole.fr", METROPOLE),
    "yann": Person("Yann", "LE BIHAN", "yann.lebihan@rennesmetropole.fr", METROPOLE),
    "guillaume": Person("Guillaume", "LEFEBVRE", "g.lefebvre@mairie-brest.fr", BREST),
    "zoe": Person("Zoé", "PRIGENT", "zoe.prigent@mairie-brest.fr", BREST),
    "marc": Person("Marc", "TANGUY", "marc.tanguy@mairie-brest.fr", BREST, "Maire adjoint"),
    "marc_metro": Person(
        "Marc", "TANGUY", "marc.tanguy@rennesmetropole.fr", METROPOLE, "Conseiller"
    ),
    "paul": Person("Paul", "LE ROUX", "paul.leroux@mairie-brest.fr", BREST),
    "sophie": Person("Sophie", "GUÉGUEN", "sophie.gueguen@mairie-brest.fr", BREST),
    "herve": Person("Hervé", "COLIN", "herve.colin@mairie-brest.fr", BREST),
    "claire": Person("Claire", "NICOLAS", "claire.nicolas@ville-rennes.fr", RENNES),
    "erwan": Person("Erwan", "QUÉRÉ", "erwan.quere@rennesmetropole.fr", METROPOLE),
    "annick": Person("Annick", "PERON", "annick.peron@mairie-brest.fr", BREST),
}


def leaf(
    issuer: Issued, p: Person, *, org: tuple[str, str, str, str] | None = None, **kw: object
) -> Issued:
    name, _siren, siret, city = org or p.org
    subject = agent_subject(
        p.prenom,
        p.nom,
        siret=siret,
        org=name,
        title=p.title,
        city=city,
        cn=kw.pop("cn", None),  # type: ignore[arg-type]
    )
    kw.setdefault("not_before", dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    return make_leaf(issuer, subject, **kw)  # type: ignore[arg-type]


def pem_crlf(cert: Issued) -> bytes:
    return cert.pem.replace(b"\n", b"\r\n")


def generate(out: Path) -> list[tuple[str, str]]:
    """Write every sample under `out`; returns (file, what it exercises) for the README."""
    pki = sample_pki()
    certs = out / "certificats"
    if certs.exists():
        shutil.rmtree(certs)
    certs.mkdir(parents=True)
    listing: list[tuple[str, str]] = []

    def put(name: str, data: bytes, what: str) -> None:
        path = certs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        listing.append((f"certificats/{name}", what))

    cs, cg = pki.chambersign_ca, pki.certigna_ca
    k = iter(range(1, 100))

    def key() -> object:
        return rsa_key(2048, slot=next(k) % 6)

    put(
        "EloiseLEGALL_Format_PEM.cer",
        pem_crlf(leaf(cs, P["eloise"], key=key())),
        "PEM Windows (CRLF), nom « Prénom NOM » : attribué par nom + SIRET.",
    )
    put(
        "thomas.dubois.cer",
        leaf(cs, P["thomas"], key=key()).der,
        "DER binaire (export « X.509 binaire codé DER ») : attribué par nom.",
    )
    put(
        "LEGOFF Jean Marie.crt",
        leaf(cs, P["jeanmarie"], key=key(), cn="JEAN MARIE LEGOFF").pem,
        "CN en capitales, ordre inversé, sans trait d'union : attribué par nom normalisé.",
    )
    put(
        "Françoise MARTIN.pem",
        b"Bag Attributes\n    friendlyName: Francoise\n"
        + leaf(cs, P["francoise"], key=key(), cn="Françoise MARTIN").pem,
        "Texte avant le bloc PEM ; nom d'usage (liste : « DUPONT épouse MARTIN ») : attribué.",
    )
    put(
        "Nathalie MARTIN (1).cer",
        leaf(cs, P["nathalie1"], key=key()).pem,
        "Homonymes dans la même commune : MATCH_AMBIGUOUS, personne ne le reçoit.",
    )
    gaelle = make_leaf(
        cg,
        agent_subject("Gaëlle", "KERHERVÉ", siret=METROPOLE[2], org=METROPOLE[0], city="Rennes"),
        key=ec_key("secp256r1", 11),
        san_email=P["gaelle"].email,
        not_before=dt.datetime(2025, 9, 1, tzinfo=dt.UTC),
    )
    put(
        "kerherve.p7b",
        pkcs7.serialize_certificates([cg.cert, gaelle.cert], serialization.Encoding.DER),
        "PKCS#7 avec la chaîne (Certigna, clé EC, e-mail dans le certificat) : "
        "FILE_CHAIN_INCLUDED, attribué par e-mail.",
    )
    loic = leaf(cs, P["loic"], key=key())
    put(
        "loic_derchen.pfx",
        pkcs12.serialize_key_and_certificates(
            b"loic", loic.key, loic.cert, None, serialization.BestAvailableEncryption(b"1234")
        ),
        "PKCS#12 avec la clé privée : FILE_PRIVATE_KEY, jamais utilisé.",
    )
    put(
        "AnneSophieMOREAU.cer",
        leaf(
            cs,
            P["anne"],
            key=key(),
            not_before=dt.datetime(2023, 1, 10, tzinfo=dt.UTC),
            days=3 * 365,
        ).pem,
        "Certificat expiré le 09/01/2026 : CERT_EXPIRED.",
    )
    put(
        "yann.lebihan@rennesmetropole.fr.cer",
        leaf(
            cs,
            P["yann"],
            key=key(),
            not_before=dt.datetime(2023, 3, 20, tzinfo=dt.UTC),
            days=3 * 365,
        ).pem,
        "Nom de fichier = e-mail ; expire sous 30 jours : CERT_EXPIRES_SOON (déposé quand même).",
    )
    put(
        "Guillaume LEFEVBRE.cer",
        leaf(cs, P["guillaume"], key=key(), cn="Guillaume LEFEVBRE").pem,
        "Faute de frappe dans le CN : attribué par nom approché dans l'organisme (score affiché).",
    )
    put(
        "zoe/ancien.cer",
        leaf(cs, P["zoe"], key=key(), not_before=dt.datetime(2024, 3, 1, tzinfo=dt.UTC)).pem,
        "Ancien certificat de Zoé PRIGENT : MATCH_SUPERSEDED.",
    )
    zoe_new = leaf(cs, P["zoe"], key=key(), not_before=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    put(
        "zoe/nouveau.cer", zoe_new.pem, "Renouvellement de Zoé PRIGENT : c'est lui qui est utilisé."
    )
    put(
        "zoe/copie de nouveau.cer",
        zoe_new.pem,
        "Même certificat dans deux fichiers : FILE_DUPLICATE.",
    )
    marc = leaf(cs, P["marc"], key=key())
    put(
        "marc_tanguy.cer",
        marc.pem,
        "Élu de deux collectivités, nommé dans la colonne Fichier de ses deux lignes : "
        "MATCH_SHARED_CERTIFICATE.",
    )
    rogue_root = make_root("AC Inconnue", "Inconnu SA", key=rsa_key(2048, 950))
    put(
        "paul-leroux.cer",
        leaf(rogue_root, P["paul"], key=key()).pem,
        "Émis par une autorité absente du magasin de confiance : CERT_UNTRUSTED.",
    )
    put(
        "Sophie GUEGUEN.cer",
        leaf(cs, P["sophie"], key=rsa_key(1024, 0)).pem,
        "Clé RSA 1024 bits : CERT_WEAK_KEY.",
    )
    put(
        "herve_colin.txt",
        leaf(cs, P["herve"], key=key()).pem.decode().replace("\n", "\r\n").encode("utf-16"),
        "PEM réenregistré par le Bloc-notes en UTF-16 : lu et attribué.",
    )
    put(
        "Claire NICOLAS.cer",
        leaf(
            cs,
            P["claire"],
            key=key(),
            eku=(ExtendedKeyUsageOID.EMAIL_PROTECTION,),
        ).pem,
        "Certificat de messagerie seulement (pas d'authentification client) : CERT_KEY_USAGE.",
    )
    put(
        "erwan_quere.cer",
        leaf(cs, P["erwan"], key=key(), org=BREST).pem,
        "SIRET de Brest dans le certificat, Rennes Métropole dans la liste : CERT_ORG_MISMATCH.",
    )
    orphan = Person("Bernard", "INCONNU", "", BREST)
    put(
        "Bernard INCONNU.cer",
        leaf(cs, orphan, key=key()).pem,
        "Personne de ce nom dans la liste : MATCH_ORPHAN_FILE.",
    )
    put(
        "annick_peron.cer",
        leaf(cs, P["thomas"], key=key()).pem,
        "Nommé dans la colonne Fichier d'Annick PERON mais c'est le certificat de Thomas "
        "DUBOIS : MATCH_CONFLICT.",
    )
    put(
        "autorite.cer",
        pki.chambersign_ca.pem,
        "Certificat de l'autorité envoyé au lieu de celui de l'agent : CERT_IS_CA.",
    )
    put(
        "capture-ecran.png",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(64),
        "Capture d'écran : FILE_NOT_A_CERTIFICATE.",
    )
    put("~$liste.cer", b"lock", "Fichier de verrouillage Office : ignoré.")
    trust = out / "confiance"
    trust.mkdir(exist_ok=True)
    (trust / "autorites.pem").write_bytes(pki.trust_pem())
    listing.append(
        (
            "confiance/autorites.pem",
            "Magasin de confiance : racines et intermédiaires de test nommés comme ChamberSign "
            "et Certigna (ce ne sont PAS les vraies autorités).",
        )
    )

    rows = roster_rows()
    write_csv(out / "agents.csv", rows, encoding="cp1252", separator=";")
    listing.append(
        (
            "agents.csv",
            "Liste des agents « CSV (séparateur : point-virgule) » d'Excel, en Windows-1252.",
        )
    )
    write_xlsx(out / "agents.xlsx", rows, title="Liste des agents — campagne 2026")
    listing.append(("agents.xlsx", "La même liste en classeur Excel, sous une ligne de titre."))
    accounts = [r for r in rows if r["Courriel"] != P["herve"].email and "@" in r["Courriel"]]
    write_socle_export(out / "export_agent.csv", accounts)
    listing.append(
        (
            "export_agent.csv",
            "Export « Exporter la liste des utilisateurs » du socle : comptes de la plateforme "
            "de démonstration (Hervé COLIN n'a pas de compte : MEGALIS_ACCOUNT_NOT_FOUND).",
        )
    )
    return listing


def roster_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for key, p in P.items():
        name, siren, _siret, _city = p.org
        fichier = ""
        if key in ("marc", "marc_metro"):
            fichier = "marc_tanguy.cer"
        if key == "annick":
            fichier = "annick_peron.cer"
        rows.append(
            {
                "Nom": p.nom,
                "Prénom": p.prenom,
                "Courriel": p.email,
                "Collectivité": name,
                "SIREN": siren,
                "Fichier": fichier,
            }
        )
    rows.append(
        {
            "Nom": "LE GALL",
            "Prénom": "Éloïse",
            "Courriel": "Eloise.Legall@ville-rennes.fr",
            "Collectivité": RENNES[0],
            "SIREN": RENNES[1],
            "Fichier": "",
        }
    )
    rows.append(
        {
            "Nom": "RIOU",
            "Prénom": "Mathieu",
            "Courriel": "mathieu.riou@ville-rennes,fr",
            "Collectivité": RENNES[0],
            "SIREN": "2,135E+08",
            "Fichier": "",
        }
    )
    rows.append(
        {
            "Nom": "",
            "Prénom": "Katell",
            "Courriel": "katell@ville-rennes.fr",
            "Collectivité": RENNES[0],
            "SIREN": RENNES[1],
            "Fichier": "katell.cer",
        }
    )
    rows.append(
        {
            "Nom": "JAOUEN",
            "Prénom": "Ronan",
            "Courriel": "ronan.jaouen@mairie-brest.fr",
            "Collectivité": BREST[0],
            "SIREN": BREST[1],
            "Fichier": "",
        }
    )
    return rows


def write_readme(out: Path, listing: list[tuple[str, str]]) -> None:
    lines = [
        "# Échantillons de démonstration",
        "",
        "Générés par `samples/make_samples.py` (dates fixes ; la démonstration s'exécute avec "
        "`--as-of 2026-03-02`). Les autorités sont des autorités **de test** nommées comme les "
        "vraies ; aucun de ces certificats n'a de valeur réelle.",
        "",
        "| Fichier | Ce qu'il illustre |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {what} |" for name, what in listing]
    lines += [
        "",
        "Lignes particulières de la liste des agents : Éloïse LE GALL apparaît deux fois "
        "(ROSTER_DUPLICATE_AGENT) ; Mathieu RIOU a une adresse invalide et un SIREN en notation "
        "scientifique (ROSTER_EMAIL_INVALID, ROSTER_ID_INVALID) ; Katell n'a pas de nom et son "
        "fichier n'existe pas (ROSTER_ROW_INCOMPLETE, ROSTER_FILE_NOT_FOUND) ; Ronan JAOUEN n'a "
        "envoyé aucun fichier (MATCH_NO_CERTIFICATE).",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--check", action="store_true", help="generate only if missing")
    args = parser.parse_args(argv)
    if args.check and (args.out / "agents.csv").exists() and (args.out / "certificats").is_dir():
        return 0
    listing = generate(args.out)
    write_readme(args.out, listing)
    print(f"{len(listing)} fichiers d'exemple écrits dans {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
