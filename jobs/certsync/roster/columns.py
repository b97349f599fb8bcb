"""Recognising the roster's header row and mapping its column names to the fields certsync reads."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    """What a roster column holds."""

    NOM = "nom"
    PRENOM = "prenom"
    FULL_NAME = "full_name"
    EMAIL = "email"
    ORGANISATION = "organisation"
    SIREN = "siren"
    SIRET = "siret"
    NIC = "nic"
    LOGIN = "login"
    FILE = "file"
    PROFIL_ID = "profil_id"


#: French label of each field, for messages.
LABELS: dict[Field, str] = {
    Field.NOM: "nom",
    Field.PRENOM: "prénom",
    Field.FULL_NAME: "nom complet",
    Field.EMAIL: "adresse e-mail",
    Field.ORGANISATION: "collectivité",
    Field.SIREN: "SIREN",
    Field.SIRET: "SIRET",
    Field.NIC: "NIC",
    Field.LOGIN: "identifiant",
    Field.FILE: "fichier",
    Field.PROFIL_ID: "profil_id",
}

#: Column names accepted for each field, as an administrator would write them (shown in hints).
SYNONYMS: dict[Field, tuple[str, ...]] = {
    Field.NOM: (
        "Nom",
        "Nom de famille",
        "Nom usuel",
        "Nom d'usage",
        "Nom de naissance",
        "Last name",
        "Surname",
        "Family name",
    ),
    Field.PRENOM: ("Prénom", "Prénom(s)", "Prénoms", "First name", "Given name"),
    Field.FULL_NAME: (
        "Nom Prénom",
        "Prénom Nom",
        "Nom et prénom",
        "Prénom et nom",
        "Nom complet",
        "Agent",
        "Full name",
        "Name",
    ),
    Field.EMAIL: (
        "Courriel",
        "E-mail",
        "Email",
        "Adresse e-mail",
        "Adresse mail",
        "Adresse électronique",
        "Adresse courriel",
        "Mail",
        "Mél",
        "E-mail address",
    ),
    Field.ORGANISATION: (
        "Collectivité",
        "Organisme",
        "Entité",
        "Structure",
        "Raison sociale",
        "Organisation",
        "Organization",
    ),
    Field.SIREN: ("SIREN", "N° SIREN", "No SIREN", "Numéro SIREN"),
    Field.SIRET: ("SIRET", "N° SIRET", "No SIRET", "Numéro SIRET"),
    Field.LOGIN: ("Login", "Identifiant", "Compte", "Username"),
    Field.FILE: ("Fichier", "Fichier certificat", "Certificat", "Nom du fichier", "File"),
}

#: The socle's own export (megalis-platform.md §5.2), matched on its exact technical names.
SOCLE_COLUMNS: dict[str, Field] = {
    "user_firstname": Field.PRENOM,
    "user_lastname": Field.NOM,
    "profil_email": Field.EMAIL,
    "user_username": Field.LOGIN,
    "organism_label": Field.ORGANISATION,
    "organism_siren": Field.SIREN,
    "organism_nic": Field.NIC,
    "profil_id": Field.PROFIL_ID,
}


def header_key(name: str) -> str:
    """A column name reduced to compare it: no case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", name.replace("œ", "oe").replace("Œ", "OE"))
    return "".join(c for c in decomposed.casefold() if c.isalnum() and c.isascii())


_BY_KEY: dict[str, Field] = {
    header_key(synonym): field for field, synonyms in SYNONYMS.items() for synonym in synonyms
}
# "N° SIREN" reduces to "nsiren"; the ordinal º decomposes to "o": both spellings are listed.
_BY_KEY |= {"nsiren": Field.SIREN, "nsiret": Field.SIRET, "courrielprofessionnel": Field.EMAIL}


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which column index holds each field, for one header row."""

    columns: dict[Field, int]
    """Field → 0-based column index (the first column wins when a name repeats)."""
    names: tuple[str, ...]
    """The header row's cells as written."""
    socle: bool
    """The roster is the socle's own export (technical column names)."""

    @property
    def score(self) -> int:
        """How many fields the row names; the header row is the one with the most."""
        return len(self.columns)

    def missing_required(self) -> list[Field]:
        """Required fields the header lacks: the e-mail, and nom + prénom or a full name."""
        missing = [] if Field.EMAIL in self.columns else [Field.EMAIL]
        if Field.FULL_NAME not in self.columns:
            missing += [f for f in (Field.NOM, Field.PRENOM) if f not in self.columns]
        return missing

    def summary(self) -> str:
        """The mapping as text for the report: `nom ← « Nom de famille » (B), …`."""
        return ", ".join(
            f"{LABELS[field]} ← « {self.names[index]} » ({column_letter(index)})"
            for field, index in sorted(self.columns.items(), key=lambda item: item[1])
        )


def map_columns(cells: Sequence[str]) -> ColumnMap:
    """Map one candidate header row."""
    socle = "profil_email" in cells and "user_lastname" in cells
    columns: dict[Field, int] = {}
    for index, cell in enumerate(cells):
        field = SOCLE_COLUMNS.get(cell.strip()) if socle else _BY_KEY.get(header_key(cell))
        if field is not None and field not in columns:
            columns[field] = index
    full = columns.get(Field.FULL_NAME)
    if (
        full is not None
        and Field.PRENOM in columns
        and Field.NOM not in columns
        and header_key(cells[full]) == "name"
    ):
        # "Name" next to "First name" is the family name, as in "First name; Name; E-mail".
        columns[Field.NOM] = columns.pop(Field.FULL_NAME)
    return ColumnMap(columns, tuple(cells), socle)


def column_letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based index (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def accepted_names() -> str:
    """French summary of accepted column names, for the missing-column hint."""
    required = (Field.EMAIL, Field.NOM, Field.PRENOM, Field.FULL_NAME)
    return " ; ".join(
        f"{LABELS[field]} : " + ", ".join(f"« {name} »" for name in SYNONYMS[field])
        for field in required
    )
