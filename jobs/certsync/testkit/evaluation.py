"""A generated evaluation set with known truth: agents, their certificate files, their owners.

Besides the everyday variants (order, capitals, hyphens, typos in the CN, renewals, homonyms),
it plants the classes of issue 10: strangers who must never receive a certificate (namesakes
in other organisations, former holders of a shared mailbox, swapped GN/SN, real surnames one
letter away) and agents who must (SIREN in the SIRET column or a spaced SIRET, birth names and
roster typos spelled by the roster's e-mail, files named after a colleague, Bernard MARTIN next
to Martin BERNARD).
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from certsync.names import compact, ordered_keys, person_keys
from certsync.testkit.pki import Issued, make_leaf, rsa_key, sample_pki
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


#: First names that are also surnames: swapped GN/SN and "Bernard MARTIN / Martin BERNARD".
BOTH_WAYS = (
    "Martin",
    "Bernard",
    "Thomas",
    "Simon",
    "Nicolas",
    "Laurent",
    "Michel",
    "Henri",
    "Vincent",
    "Robert",
)
#: Distinct real surnames one letter apart (certificate side, roster side), both ways round.
NEAR_SURNAMES = (
    ("LE GALL", "LE GAL"),
    ("GUILLOUX", "GUILLOU"),
    ("HENRY", "HENRI"),
    ("LE GUERN", "LE GUEN"),
    ("RIOUX", "RIOU"),
)
_MAILBOXES = ("mairie", "secretariat", "accueil", "dgs", "compta")

Org = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class _Person:
    prenom: str
    nom: str
    """The name the certificate carries (birth name for the birth-name class)."""
    roster_nom: str
    org: Org
    email: str
    kind: str
    """Planted class, or "courant"."""


@dataclass
class Truth:
    """The generated set and its truth."""

    roster: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)
    """File → e-mail of the agent it belongs to (absent: nobody on the roster)."""
    expected: dict[str, str] = field(default_factory=dict)
    """E-mail → SHA-256 of the certificate that agent should receive (attributable agents)."""
    variants: Counter[str] = field(default_factory=Counter)
    agent_class: dict[str, str] = field(default_factory=dict)
    """E-mail → planted class of the agent."""
    file_class: dict[str, str] = field(default_factory=dict)
    """File → planted class (strangers' files have their own classes)."""

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


def subject(
    rng: random.Random, prenom: str, nom: str, org: Org, *, cn: str, email: str = "", gn_sn: bool
) -> x509.Name:
    """A real-looking RGS subject: C, O, OU=0002 <SIRET>, SERIALNUMBER, GN, SN, CN, [E]."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org[0]),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"0002 {org[2]}"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"{rng.randrange(10**11, 10**12):x}"),
    ]
    if gn_sn:
        attrs.append(x509.NameAttribute(NameOID.GIVEN_NAME, prenom))
        attrs.append(x509.NameAttribute(NameOID.SURNAME, nom))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def _orgs(first_org: int, organisations: int) -> list[Org]:
    orgs = []
    for i in range(first_org, first_org + organisations):
        siren = siren_with_key(20_000_000 + i * 7919)
        town = _TOWNS[i % len(_TOWNS)]
        orgs.append(
            (f"{_INSEE_MIX[i % len(_INSEE_MIX)]} {town}", siren, siret_with_key(siren), town)
        )
    return orgs


class _Builder:
    """Builds the roster and the files, one planted class at a time."""

    def __init__(self, rng: random.Random, orgs: list[Org]) -> None:
        self.rng = rng
        self.orgs = orgs
        self.truth = Truth()
        self.people: list[_Person] = []
        self.by_org: dict[str, list[_Person]] = {}
        self.emails: set[str] = set()
        pki = sample_pki()
        self.issuer = pki.chambersign_ca
        self.keys = [rsa_key(2048, slot) for slot in range(4)]
        self.serial = 0
        # Organisations whose roster writes the SIREN in a SIRET column, or a spaced SIRET.
        self.siren_column = set(rng.sample(range(len(orgs)), max(1, len(orgs) // 5)))
        # How each organisation writes its addresses.
        self.convention = {
            org[1]: rng.choice(("{p}.{n}",) * 6 + ("{i}.{n}", "{n}.{p}", "{p}{n}", "{i}{n}"))
            for org in orgs
        }

    def domain(self, org: Org) -> str:
        return f"{_ascii_local(org[3])}{org[1][-3:]}.bzh"

    def email(self, local: str, org: Org) -> str:
        email = f"{local}@{self.domain(org)}"
        n = 2
        while email in self.emails:
            email = f"{local}{n}@{self.domain(org)}"
            n += 1
        self.emails.add(email)
        return email

    def add(
        self,
        prenom: str,
        nom: str,
        org: Org,
        *,
        kind: str = "courant",
        roster_nom: str = "",
        local: str = "",
    ) -> _Person:
        p_, n_ = _ascii_local(prenom), _ascii_local(nom)
        local = local or self.convention[org[1]].format(p=p_, n=n_, i=p_[:1])
        p = _Person(prenom, nom, roster_nom or nom, org, self.email(local, org), kind)
        self.people.append(p)
        self.by_org.setdefault(org[1], []).append(p)
        row = {
            "Nom": p.roster_nom if self.rng.random() < 0.7 else p.roster_nom.title(),
            "Prénom": prenom,
            "Courriel": p.email,
            "Collectivité": org[0],
        }
        index = self.orgs.index(org)
        if index in self.siren_column:
            row["SIRET"] = (
                org[1]
                if index % 2
                else " ".join((org[2][:3], org[2][3:6], org[2][6:9], org[2][9:]))
            )
        else:
            row["SIREN"] = org[1]
        self.truth.roster.append(row)
        self.truth.agent_class[p.email] = (
            "SIREN/SIRET en colonne" if (index in self.siren_column and kind == "courant") else kind
        )
        return p

    def named(self, org: Org, *keys: str) -> bool:
        """Whether someone in the organisation has one of these names (roster or birth name)."""
        return any(
            compact(q.prenom + q.roster_nom) in keys or compact(q.prenom + q.nom) in keys
            for q in self.by_org.get(org[1], ())
        )

    def issue(self, name: x509.Name, *, start: dt.datetime, san: str = "") -> Issued:
        self.serial += 1
        key = self.keys[self.serial % 4]
        return make_leaf(self.issuer, name, key=key, not_before=start, san_email=san)

    def put(self, folder: Org, stem: str, cert: Issued, owner: str | None, kind: str) -> str:
        rel = f"{folder[3]}-{folder[1]}/{stem}.cer"
        while rel in self.truth.files:  # two agents sent files with the same name
            rel = rel[:-4] + "-bis.cer"
        der = cert.cert.public_bytes(Encoding.DER)
        self.truth.files[rel] = der if self.serial % 3 == 0 else cert.pem
        if owner is not None:
            self.truth.owner[rel] = owner
        self.truth.file_class[rel] = kind
        return rel


BASE = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def generate(
    agents: int = 2000, *, seed: int = 7, organisations: int = 20, first_org: int = 0
) -> Truth:
    """A roster of about `agents` people over `organisations`, their files, and planted cases."""
    rng = random.Random(seed)
    b = _Builder(rng, _orgs(first_org, organisations))
    _roster(b, agents)
    _plant_roster_classes(b, max(5, agents // 100))
    ambiguous = _ambiguity(b.people)
    for n, p in enumerate(list(b.people)):
        _agent_files(b, n, p, ambiguous)
    _strangers(b, max(5, agents // 100))
    return b.truth


def _roster(b: _Builder, agents: int) -> None:
    rng = b.rng
    for _ in range(agents):
        org = b.orgs[rng.randrange(len(b.orgs))]
        prenom = rng.choice(COMPOUND_PRENOMS) if rng.random() < 0.1 else rng.choice(PRENOMS)
        nom = rng.choice(NOMS)
        kind = "courant"
        if rng.random() < 0.01 and b.people:
            other = b.people[rng.randrange(len(b.people))]  # a true homonym in one organisation
            prenom, nom, org, kind = other.prenom, other.nom, other.org, "homonymes"
        roster_nom = f"{rng.choice(NOMS)} épouse {nom}" if rng.random() < 0.02 else nom
        b.add(prenom, nom, org, kind=kind, roster_nom=roster_nom)


def _plant_roster_classes(b: _Builder, count: int) -> None:
    """Agents whose own certificate a careful person would give them despite a difficulty."""
    rng = b.rng
    for _ in range(count):
        org = rng.choice(b.orgs)
        prenom = rng.choice(PRENOMS)
        birth, usage = rng.sample(NOMS[:60], 2)
        # Birth name in the certificate, usage name in the roster, the e-mail spells the birth name.
        b.add(prenom, birth, org, kind="nom de naissance", roster_nom=usage)
        org = rng.choice(b.orgs)
        real = rng.choice([n for n in NOMS if len(compact(n)) >= 5])
        # A typo in the roster, its own e-mail spelling the certificate's (right) name.
        b.add(
            rng.choice(PRENOMS), real, org, kind="faute dans la liste", roster_nom=_typo(rng, real)
        )
        org = rng.choice(b.orgs)
        first, last = rng.sample(BOTH_WAYS, 2)
        b.add(first, last.upper(), org, kind="Bernard MARTIN / Martin BERNARD")
        b.add(last, first.upper(), org, kind="Bernard MARTIN / Martin BERNARD")
        org = rng.choice(b.orgs)
        # The agent's e-mail is the town hall's mailbox; a former holder's certificate has it too.
        b.add(
            rng.choice(PRENOMS),
            rng.choice(NOMS),
            org,
            kind="boîte partagée",
            local=rng.choice(_MAILBOXES),
        )
        org = rng.choice(b.orgs)
        cert_side, roster_side = rng.choice(NEAR_SURNAMES)
        if rng.random() < 0.5:
            cert_side, roster_side = roster_side, cert_side
        b.add(rng.choice(PRENOMS), roster_side, org, kind="nom à une lettre")


def _ambiguity(people: list[_Person]) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Per organisation, how many rows have each name key (usage names too), and how many
    rows' e-mails spell a name that is not their own (birth names, typos in the roster)."""
    in_org: Counter[tuple[str, str]] = Counter()
    spelled: Counter[tuple[str, str]] = Counter()
    for p in people:
        for key in ordered_keys(p.prenom, p.roster_nom) | person_keys(p.prenom, p.roster_nom):
            in_org[(p.org[1], key)] += 1
        if p.kind in ("nom de naissance", "faute dans la liste"):
            spelled[(p.org[1], compact(p.prenom + p.nom))] += 1
    return in_org, spelled


def _agent_files(
    b: _Builder,
    n: int,
    p: _Person,
    ambiguous: tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]],
) -> None:
    rng, truth = b.rng, b.truth
    if p.kind == "courant" and rng.random() < 0.15:
        return  # no certificate sent
    prenom, nom, org = p.prenom, p.nom, p.org
    gn_sn = rng.random() < 0.9  # a few issuers still write only the CN
    variant, cn = _variant(rng, prenom, nom)
    if p.kind != "courant":
        variant, cn, gn_sn = "standard", f"{prenom} {nom}", True
    cert_org, moved = _cert_org(b, p)
    mailbox = p.kind == "boîte partagée"
    san = p.email if (mailbox and rng.random() < 0.5) or rng.random() < 0.3 else ""
    subject_email = p.email if not san and rng.random() < 0.1 else ""
    renew = rng.random() < 0.05
    truth.variants[variant] += 1
    starts = [BASE - dt.timedelta(days=900), BASE] if renew else [BASE]
    issued = [
        b.issue(
            subject(rng, prenom, nom, cert_org, cn=cn, email=subject_email, gn_sn=gn_sn),
            start=start,
            san=san,
        )
        for start in starts
    ]
    colleagues = [q for q in b.by_org[org[1]] if q is not p]
    stem, colleague = _stem(rng, n, p, colleagues)
    for i, cert in enumerate(issued):
        kind = "fichier au nom d'un collègue" if colleague else p.kind
        if moved:
            kind = "mutation"
        b.put(org, stem + ("-ancien" if i == 0 and renew else ""), cert, p.email, kind)
        truth.agent_class[p.email] = kind if kind != "courant" else truth.agent_class[p.email]
    by_email = bool(san or subject_email)
    exact, by_content = _content_match(p, variant, cn, gn_sn, moved, ambiguous)
    by_file_email = stem == p.email and (exact or by_content) and not moved
    if by_email or by_content or (by_file_email and not colleague):
        truth.expected[p.email] = _sha(issued[-1])


def _variant(rng: random.Random, prenom: str, nom: str) -> tuple[str, str]:
    """How the issuer spelled the name in the CN: the variant's name and the CN."""
    roll = rng.random()
    if roll < 0.40:
        return "standard", f"{prenom} {nom}"
    if roll < 0.60:
        return "inverse", f"{nom} {prenom}"
    if roll < 0.75:
        return "capitales", _strip_accents(f"{prenom} {nom}").upper()
    if roll < 0.85 and len(compact(prenom + nom)) >= 13:
        return "faute", f"{prenom} {_typo(rng, nom)}"
    if roll < 0.95:
        return "trait-d-union", f"{prenom.replace('-', ' ')} {nom.replace('-', '')}"
    return "initiale", f"{prenom[0]}. {nom}"


def _cert_org(b: _Builder, p: _Person) -> tuple[Org, bool]:
    """The organisation the certificate names, and whether the agent moved there."""
    if p.kind == "courant" and b.rng.random() < 0.02:
        # Moved to another collectivité, unless a namesake there would make it theirs.
        target = b.orgs[(b.orgs.index(p.org) + 1) % len(b.orgs)]
        if not b.named(target, compact(p.prenom + p.nom)):
            return target, True
    return p.org, False


def _content_match(
    p: _Person,
    variant: str,
    cn: str,
    gn_sn: bool,
    moved: bool,
    ambiguous: tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]],
) -> tuple[bool, bool]:
    """Whether the certificate spells the name exactly, and whether its content alone names
    the agent (a name nobody else in the organisation has, nor an e-mail spelling it)."""
    in_org, spelled = ambiguous
    org, name = p.org[1], compact(p.prenom + p.nom)
    key = name if gn_sn else compact(cn)
    unique = in_org[(org, key)] == 1 and not spelled[(org, name)]
    exact = variant in ("standard", "inverse", "capitales", "trait-d-union") or gn_sn
    misspelled = p.kind in ("nom de naissance", "faute dans la liste")
    if misspelled:
        exact = False  # the roster's name is not the certificate's; its e-mail spells it
        unique = in_org[(org, name)] == 0 and spelled[(org, name)] == 1
    by_content = (exact and unique and not moved) or (misspelled and unique)
    return exact, by_content


def _stem(rng: random.Random, n: int, p: _Person, colleagues: list[_Person]) -> tuple[str, bool]:
    """The file's name as agents send them; sometimes a colleague's (a mix-up)."""
    roll = rng.random()
    if roll < 0.03 and colleagues:
        other = rng.choice(colleagues)
        if compact(other.prenom + other.roster_nom) != compact(p.prenom + p.roster_nom):
            return (
                f"{_strip_accents(other.prenom).replace('-', '')}{other.roster_nom}_Format_PEM",
                True,
            )
    if roll < 0.41:
        return (
            f"{_strip_accents(p.prenom).replace('-', '')}{_strip_accents(p.nom)}_Format_PEM",
            False,
        )
    if roll < 0.51:
        return p.email, False
    if roll < 0.71:
        return f"{p.prenom} {p.nom} (1)", False
    return f"certificat-{n:05d}", False


def _strangers(b: _Builder, count: int) -> None:
    """Certificates of people who are not on the roster but look like someone who is."""
    people = [p for p in b.people if p.kind == "courant"]
    _namesakes(b, people, count)
    _former_holders(b)
    _swapped_strangers(b)
    _near_strangers(b)
    _swapped_agents(b, count)


def _namesakes(b: _Builder, people: list[_Person], count: int) -> None:
    """A namesake in another organisation, newer than the agent's own certificate."""
    rng = b.rng
    for _ in range(count):
        p = rng.choice(people)
        other = b.orgs[(b.orgs.index(p.org) + 3) % len(b.orgs)]
        if not b.named(other, compact(p.prenom + p.nom)):
            name = subject(rng, p.prenom, p.nom, other, cn=f"{p.prenom} {p.nom}", gn_sn=True)
            cert = b.issue(name, start=BASE + dt.timedelta(days=30))
            b.put(
                other, f"{p.prenom}{p.nom}_Format_PEM", cert, None, "homonyme d'un autre organisme"
            )


def _former_holders(b: _Builder) -> None:
    """The former holder of a shared mailbox: another person, the same mailbox."""
    rng = b.rng
    for i, p in enumerate(q for q in b.people if q.kind == "boîte partagée"):
        # The former holder of the post: another person, the same mailbox.
        prenom, nom = rng.choice(PRENOMS), rng.choice(NOMS)
        if compact(prenom) == compact(p.prenom):
            continue
        name = subject(rng, prenom, nom, p.org, cn=f"{prenom} {nom}", email=p.email, gn_sn=True)
        cert = b.issue(name, start=BASE - dt.timedelta(days=400))
        b.put(
            p.org,
            f"ancien-{i}-{_ascii_local(nom)}",
            cert,
            None,
            "boîte partagée (ancien titulaire)",
        )


def _swapped_strangers(b: _Builder) -> None:
    """A « Martin BERNARD » not on the roster, where Bernard MARTIN is."""
    rng = b.rng
    for p in [q for q in b.people if q.kind == "Bernard MARTIN / Martin BERNARD"][::2]:
        # Swapped GN/SN: a "Martin BERNARD" who is not on the roster, where Bernard MARTIN is.
        if any(compact(q.prenom) == compact(p.nom) for q in b.by_org[p.org[1]]):
            continue  # the pair is on the roster: the swapped one is an agent, not a stranger
        given, surname = p.nom.title(), p.prenom.upper()
        name = subject(rng, given, surname, p.org, cn=f"{given} {surname}", gn_sn=True)
        b.put(
            p.org,
            f"certif-{_ascii_local(surname)}",
            b.issue(name, start=BASE),
            None,
            "GN/SN inversés",
        )


def _near_strangers(b: _Builder) -> None:
    """A different real person whose surname is one letter away from an agent's."""
    rng = b.rng
    for p in [q for q in b.people if q.kind == "nom à une lettre"]:
        # A different real person whose surname is one letter away from the agent's.
        near = next(c if r == p.nom else r for c, r in NEAR_SURNAMES if p.nom in (c, r))
        if b.named(p.org, compact(p.prenom + near)):
            continue  # someone of that name is on the roster: not a stranger
        name = subject(rng, p.prenom, near, p.org, cn=f"{p.prenom} {near}", gn_sn=True)
        b.put(
            p.org,
            f"{_ascii_local(p.prenom)}-{_ascii_local(near)}",
            b.issue(name, start=BASE),
            None,
            "nom à une lettre (autre personne)",
        )


def _swapped_agents(b: _Builder, count: int) -> None:
    """Roster agents with two first-name-like names, certified GN/SN swapped."""
    rng = b.rng
    for i in range(count):
        # Swapped GN/SN for a roster agent with two first-name-like names, alone in the org.
        first, last = rng.sample(BOTH_WAYS, 2)
        org = rng.choice(b.orgs)
        if b.named(org, compact(first + last), compact(last + first)):
            continue
        b.add(first, last.upper(), org, kind="GN/SN inversés (agent)")
        name = subject(rng, last, first.upper(), org, cn=f"{last} {first.upper()}", gn_sn=True)
        b.put(org, f"swap-{i}", b.issue(name, start=BASE), None, "GN/SN inversés")


def _sha(issued: Issued) -> str:
    import hashlib

    return hashlib.sha256(issued.der).hexdigest()
