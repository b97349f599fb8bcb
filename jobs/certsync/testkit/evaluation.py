"""A generated evaluation set with known truth: agents, their certificate files, their owners."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from certsync.names import compact, person_keys
from certsync.testkit.pki import Issued, agent_subject, make_leaf, rsa_key, sample_pki
from certsync.testkit.rosters import siren_with_key, siret_with_key

PRENOMS = (
    "Jean Marie Pierre Anne Sophie Thomas Nicolas Julien Camille Léa Chloé Manon Emma Inès Sarah "
    "Louise Jade Lucas Hugo Louis Gabriel Arthur Raphaël Nathan Enzo Maël Yann Erwan Gwenaël "
    "Goulven Tristan Ronan Corentin Loïc Gaëlle Nolwenn Maïwenn Katell Soazig Morgane Anaïs "
    "Élodie Céline Hélène Françoise Béatrice Cécile Agnès Noémie Zoé Chloé Lénaïg Brieuc Tanguy "
    "Ewen Mathis Théo Baptiste Clément Maxime Antoine Guillaume François Frédéric Hervé Gérard "
    "Bernard Michel Philippe Patrick Christophe Stéphane Sébastien Jérôme Benoît Rémi Aurélien "
    "Valérie Isabelle Nathalie Sandrine Stéphanie Véronique Sylvie Martine Monique Brigitte "
    "Annick Maryvonne Josiane Solène Clémence Margaux Océane Justine Pauline Mathilde Juliette "
    "Amélie Aurélie Émilie Laëtitia Gaëtan Joël Noël Yannick Pascal Thierry Didier Laurent"
).split()
COMPOUND_PRENOMS = (
    "Jean-Marie",
    "Jean-Pierre",
    "Anne-Sophie",
    "Marie-Claire",
    "Jean-Christophe",
    "Pierre-Yves",
    "Marie-Hélène",
    "Jean-Yves",
    "Anne-Laure",
    "Marie-Noëlle",
)
NOMS = (
    "LE GALL|LE GOFF|LE ROUX|LE BIHAN|LE BRIS|LE CORRE|LE MEUR|LE FLOCH|LE BRAS|LE GUEN|"
    "KERHERVÉ|KERGOAT|GUÉGUEN|QUÉRÉ|PRIGENT|TANGUY|MORVAN|JAOUEN|RIOU|COLIN|PERON|NICOLAS|"
    "HAMON|CADIOU|PERROT|ROLLAND|BOUCHER|MARTIN|BERNARD|DUBOIS|THOMAS|ROBERT|RICHARD|PETIT|"
    "DURAND|LEROY|MOREAU|SIMON|LAURENT|LEFEBVRE|MICHEL|GARCIA|DAVID|BERTRAND|ROUX|VINCENT|"
    "FOURNIER|MOREL|GIRARD|ANDRÉ|LEFÈVRE|MERCIER|DUPONT|LAMBERT|BONNET|FRANÇOIS|MARTINEZ|"
    "DE LA TOUR|D'HERVÉ|DERC'HEN|LE CŒUR|DUPONT-MOREAU|LE GALL-KERJEAN|SAINT-JALMES|"
    "BOURHIS|CORNEC|GUILLOU|LE PAPE|LOUARN|MADEC|OLLIVIER|PICHON|QUINIOU|RAOUL|SALAUN|"
    "TREGUER|URVOY|VIGOUROUX|YVINEC|ZIEGLER|ABGRALL|BESCOND|CARADEC|DANIELOU|ELEGOET|FLOCH|"
    "GOASDOUE|HELIES|IZAR|JEZEQUEL|KERBRAT|LAGADEC|MENEZ|NEDELEC|OMNES|PENNEC|QUEMENER|"
    "ROPARS|STEPHAN|TALEC|UGUEN|VEILLARD|WARNET|ABIVEN|BIZIEN|CALVEZ|DIRAISON|EVEN|FAVENNEC"
).split("|")

_INSEE_MIX = ("Commune de", "Mairie de", "Communauté de communes de", "Syndicat mixte de")
_TOWNS = (
    "Rennes|Brest|Quimper|Lorient|Vannes|Saint-Brieuc|Saint-Malo|Lannion|Morlaix|Concarneau|"
    "Fougères|Vitré|Dinan|Pontivy|Redon|Landerneau|Guingamp|Ploërmel|Douarnenez|Quimperlé|"
    "Lamballe|Loudéac|Paimpol|Carhaix|Auray"
).split("|")


@dataclass(frozen=True, slots=True)
class _Person:
    prenom: str
    nom: str
    roster_nom: str
    org: tuple[str, str, str, str]
    email: str


@dataclass
class Truth:
    """The generated set and its truth."""

    roster: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)
    """File → e-mail of the agent it belongs to (absent: nobody on the roster)."""
    expected: dict[str, str] = field(default_factory=dict)
    """E-mail → SHA-256 of the certificate that agent should receive (matchable agents)."""
    variants: Counter[str] = field(default_factory=Counter)

    def write(self, folder: Path) -> None:
        """Write the certificate files under `folder`."""
        for rel, data in self.files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def _strip_accents(text: str) -> str:
    return "".join(
        c
        for c in unicodedata.normalize("NFKD", text.replace("Œ", "OE").replace("œ", "oe"))
        if not unicodedata.combining(c)
    )


def _ascii_local(text: str) -> str:
    return "".join(c for c in _strip_accents(text).lower() if c.isalnum() or c == "-")


def _typo(rng: random.Random, text: str) -> str:
    """One substituted letter inside the surname (never the first)."""
    positions = [i for i, c in enumerate(text) if c.isalpha() and i > 0]
    i = rng.choice(positions)
    replacement = rng.choice([c for c in "AEIOURSTLN" if c != text[i].upper()])
    return text[:i] + replacement + text[i + 1 :]


def generate(
    agents: int = 2000, *, seed: int = 7, organisations: int = 20, first_org: int = 0
) -> Truth:
    """A roster of `agents` people over `organisations`, and their certificate files."""
    rng = random.Random(seed)
    pki = sample_pki()
    issuer = pki.chambersign_ca
    keys = [rsa_key(2048, slot) for slot in range(4)]
    orgs = []
    for i in range(first_org, first_org + organisations):
        siren = siren_with_key(20_000_000 + i * 7919)
        town = _TOWNS[i % len(_TOWNS)]
        orgs.append(
            (f"{_INSEE_MIX[i % len(_INSEE_MIX)]} {town}", siren, siret_with_key(siren), town)
        )
    truth = Truth()
    people: list[_Person] = []
    seen_emails: set[str] = set()
    for n in range(agents):
        org = orgs[rng.randrange(len(orgs))]
        prenom = rng.choice(COMPOUND_PRENOMS) if rng.random() < 0.1 else rng.choice(PRENOMS)
        nom = rng.choice(NOMS)
        if rng.random() < 0.01 and people:
            # A forced homonym in the same organisation.
            other = people[rng.randrange(len(people))]
            prenom, nom, org = other.prenom, other.nom, other.org
        domain = f"{_ascii_local(org[3])}{org[1][-3:]}.bzh"
        email = f"{_ascii_local(prenom)}.{_ascii_local(nom)}@{domain}"
        if email in seen_emails:
            email = f"{_ascii_local(prenom)}.{_ascii_local(nom)}{n}@{domain}"
        seen_emails.add(email)
        roster_nom = nom
        if rng.random() < 0.02:
            roster_nom = f"{rng.choice(NOMS)} épouse {nom}"
        people.append(_Person(prenom, nom, roster_nom, org, email))
        truth.roster.append(
            {
                "Nom": roster_nom if rng.random() < 0.7 else roster_nom.title(),
                "Prénom": prenom,
                "Courriel": email,
                "Collectivité": org[0],
                "SIREN": org[1],
            }
        )

    # Who could be confused with whom, by the name keys a roster row yields (usage names too).
    in_org: Counter[tuple[str, str]] = Counter()
    overall: Counter[str] = Counter()
    for p in people:
        for key in person_keys(p.prenom, p.roster_nom):
            in_org[(p.org[1], key)] += 1
            overall[key] += 1
    by_org: dict[str, list[_Person]] = {}
    for p in people:
        by_org.setdefault(p.org[1], []).append(p)

    base = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    for n, p in enumerate(people):
        if rng.random() < 0.15:
            continue  # no certificate sent
        prenom, nom, org = p.prenom, p.nom, p.org
        roll = rng.random()
        if roll < 0.40:
            variant, cn = "standard", f"{prenom} {nom}"
        elif roll < 0.60:
            variant, cn = "inverse", f"{nom} {prenom}"
        elif roll < 0.75:
            variant, cn = "capitales", _strip_accents(f"{prenom} {nom}").upper()
        elif roll < 0.85 and len(compact(prenom + nom)) >= 13:
            variant, cn = "faute", f"{prenom} {_typo(rng, nom)}"
        elif roll < 0.95:
            variant, cn = "trait-d-union", f"{prenom.replace('-', ' ')} {nom.replace('-', '')}"
        else:
            variant, cn = "initiale", f"{prenom[0]}. {nom}"
        cert_org = org
        moved = False
        if rng.random() < 0.02:
            # Moved to another collectivité, unless a namesake there would make it a guess.
            target = orgs[(orgs.index(org) + 1) % len(orgs)]
            if not in_org[(target[1], compact(prenom + nom))]:
                cert_org, moved = target, True
        san = p.email if rng.random() < 0.3 else ""
        renew = rng.random() < 0.05
        truth.variants[variant] += 1
        issued = []
        starts = [base - dt.timedelta(days=900), base] if renew else [base]
        for start in starts:
            subject = agent_subject(
                prenom, nom, siret=cert_org[2], org=cert_org[0], city=cert_org[3], cn=cn
            )
            issued.append(
                make_leaf(issuer, subject, key=keys[n % 4], not_before=start, san_email=san)
            )
        name_roll = rng.random()
        conflict = False
        if name_roll < 0.01 and len(by_org[org[1]]) > 1:
            other = rng.choice([q for q in by_org[org[1]] if q is not p])
            stem = f"{_strip_accents(other.prenom).replace('-', '')}{other.nom}_Format_PEM"
            conflict = compact(other.prenom + other.nom) != compact(prenom + nom)
        elif name_roll < 0.41:
            stem = f"{_strip_accents(prenom).replace('-', '')}{_strip_accents(nom)}_Format_PEM"
        elif name_roll < 0.51:
            stem = p.email
        elif name_roll < 0.71:
            stem = f"{prenom} {nom} (1)"
        else:
            stem = f"certificat-{n:05d}"
        for i, cert in enumerate(issued):
            rel = f"{org[3]}-{org[1]}/{stem}{'-ancien' if i == 0 and renew else ''}.cer"
            while rel in truth.files:  # two agents sent files with the same name
                rel = rel[:-4] + "-bis.cer"
            data = cert.cert.public_bytes(Encoding.DER) if n % 3 == 0 else cert.pem
            truth.files[rel] = data
            truth.owner[rel] = p.email
        key = compact(prenom + nom)
        unique_name = overall[key] == 1 if moved else in_org[(org[1], key)] == 1
        by_email = bool(san) or stem == p.email
        # A typo is only recoverable inside the certificate's own organisation.
        by_name = variant != "initiale" and unique_name and not (variant == "faute" and moved)
        if not conflict and (by_email or by_name):
            truth.expected[p.email] = _sha(issued[-1])
    return truth


def _sha(issued: Issued) -> str:
    import hashlib

    return hashlib.sha256(issued.der).hexdigest()
