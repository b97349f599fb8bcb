"""Normalisation of French person names into comparison keys."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Ligatures that NFKD does not decompose; ß and ø for completeness.
_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"}
)
# Every hyphen, dash and apostrophe variant becomes a space: "Jean-Marie" = "Jean Marie".
_SEPARATORS = re.compile(
    r"[\u002d\u2010-\u2015\u2212\ufe58\ufe63\uff0d'\u2019\u2018\u02bc\u00b4`.,_/]+"
)
_SPACES = re.compile(r"\s+")
_CIVILITIES = frozenset({"m", "mr", "mme", "mlle", "monsieur", "madame", "mademoiselle", "dr"})
# Markers of a married / usage name: "DUPONT épouse MARTIN", "MARTIN née DUPONT".
_ALT_MARKERS = frozenset({"nee", "epouse", "ep", "epse", "vve", "veuve", "dite", "dit"})


@lru_cache(maxsize=32768)
def fold(text: str) -> str:
    """Accents removed, ligatures expanded, separators unified, case-folded, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _SEPARATORS.sub(" ", text.casefold())
    text = "".join(c if (c.isalnum() or c.isspace()) else " " for c in text)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=32768)
def tokens(text: str) -> tuple[str, ...]:
    """Folded words, civilities removed."""
    return tuple(t for t in fold(text).split(" ") if t and t not in _CIVILITIES)


@lru_cache(maxsize=32768)
def compact(text: str) -> str:
    """One key with no separators: "LE GOFF" and "Legoff" give the same key."""
    return "".join(tokens(text))


@lru_cache(maxsize=32768)
def surname_variants(nom: str) -> tuple[str, ...]:
    """Compact surnames a person may use: the whole, and each side of "épouse"/"née"."""
    words = tokens(nom)
    variants = ["".join(words)]
    if any(w in _ALT_MARKERS for w in words):
        part: list[str] = []
        for word in [*words, "nee"]:
            if word in _ALT_MARKERS:
                if part:
                    variants.append("".join(part))
                part = []
            else:
                part.append(word)
    return tuple(dict.fromkeys(v for v in variants if v))


def person_keys(prenom: str, nom: str, full_name: str = "") -> frozenset[str]:
    """Compact keys for a roster person, in both orders ("jeanmarielegall", "legalljeanmarie")."""
    keys: set[str] = set()
    if prenom or nom:
        first = compact(prenom)
        for last in surname_variants(nom):
            keys.add(first + last)
            keys.add(last + first)
    if full_name:
        words = tokens(full_name)
        keys.add("".join(words))
        # A full-name column does not say which word is the surname: rotate once each way.
        for cut in range(1, len(words)):
            keys.add("".join(words[cut:] + words[:cut]))
    keys.discard("")
    return frozenset(keys)


def ordered_keys(prenom: str, nom: str, full_name: str = "") -> frozenset[str]:
    """Compact keys given name first only ("bernardmartin"); a full-name column gives every order.

    A certificate's GN and SN say which word is the surname, so they are compared to these.
    """
    keys: set[str] = set()
    if prenom or nom:
        first = compact(prenom)
        keys.update(first + last for last in surname_variants(nom))
    if full_name:
        words = tokens(full_name)
        keys.update("".join(words[cut:] + words[:cut]) for cut in range(len(words)))
    keys.discard("")
    return frozenset(keys)


def name_keys(prenom: str, nom: str, full_name: str = "") -> tuple[frozenset[str], frozenset[str]]:
    """`ordered_keys` and `person_keys` of a roster row in one pass (the index builds both)."""
    if full_name:
        return ordered_keys(prenom, nom, full_name), person_keys(prenom, nom, full_name)
    first = compact(prenom)
    variants = surname_variants(nom) if (prenom or nom) else ()
    ordered = {first + last for last in variants}
    both = ordered | {last + first for last in variants}
    ordered.discard("")
    both.discard("")
    return frozenset(ordered), frozenset(both)


_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")
_FILE_NOISE = re.compile(
    r"(?i)\b(format|pem|der|cer|crt|cert|certificat|certificate|base64|x509|export|public|cle|"
    r"clé|publique|rgs|copie|copy)\b|\(\d+\)|\d+"
)


def filename_key(stem: str) -> str:
    """Compact name key from a file stem: `ThomasDUBOIS_Format_PEM` → `thomasdubois`."""
    text = _CAMEL.sub(" ", stem)
    text = text.replace("_", " ")
    text = _FILE_NOISE.sub(" ", text)
    return compact(text)


# --- certificate subject: given name and surname -------------------------------------------

#: givenName (2.5.4.42) and surname (2.5.4.4) in an RFC 4514 string, as cryptography writes
#: them (dotted) or as other tools do (GN, SN): the value runs to an unescaped `,` or `+`.
_VALUE = r"=((?:[^,+\\]|\\.)*)"
_GIVEN_NAME = re.compile(r"(?:^|(?<=[,+]))\s*(?:2\.5\.4\.42|GN|givenName)" + _VALUE, re.I)
_SURNAME = re.compile(r"(?:^|(?<=[,+]))\s*(?:2\.5\.4\.4|SN|surname)" + _VALUE, re.I)
_ESCAPES = re.compile(r"\\([0-9a-fA-F]{2})|\\(.)|([^\\]+)", re.S)


def _unescape(value: str) -> str:
    """An RFC 4514 value without its escapes (`\\,` and `\\c3\\a9` both)."""
    if "\\" not in value:
        return value
    out = bytearray()
    for hex_pair, char, plain in _ESCAPES.findall(value):
        out += bytes.fromhex(hex_pair) if hex_pair else (char or plain).encode()
    return out.decode("utf-8", "replace")


def _first(pattern: re.Pattern[str], subject: str) -> str:
    found = pattern.search(subject)
    if found is None or found.group(1).startswith("#"):  # a BER value carries no readable name
        return ""
    return _unescape(found.group(1)).strip()


_RAW_VALUE = re.compile(r"(?:[^,+\\]|\\.)*")


def _dotted(oid: str, subject: str) -> str | None:
    """The first value of a dotted attribute type (as cryptography writes GN and SN), fast."""
    start = 0
    while (at := subject.find(oid, start)) >= 0:
        start = at + len(oid)
        if at == 0 or subject[at - 1] in ",+":
            found = _RAW_VALUE.match(subject, start)
            value = found.group(0) if found else ""
            return "" if value.startswith("#") else _unescape(value).strip()
    return None


def given_and_surname(subject: str) -> tuple[str, str]:
    """The subject's givenName and surname (first of each), or empty strings."""
    given, surname = _dotted("2.5.4.42=", subject), _dotted("2.5.4.4=", subject)
    if given is None:
        given = _first(_GIVEN_NAME, subject)  # GN= / givenName= from other writers
    if surname is None:
        surname = _first(_SURNAME, subject)
    return given, surname


# --- e-mail local parts ----------------------------------------------------------------------


_NOT_LETTER = re.compile(r"[^a-z]+")


def local_key(email: str) -> str:
    """The e-mail's local part as a name key: `Jean-Marie.Le-Gall2@x.fr` → `jeanmarielegall`."""
    local = (email.rpartition("@")[0] or email).partition("+")[0]
    if local.isascii():
        return _NOT_LETTER.sub("", local.lower())
    return "".join(c for c in compact(local) if not c.isdigit())


@lru_cache(maxsize=65536)
def spellings(given: str, surname: str, *, bare: bool = False) -> frozenset[str]:
    """Local parts an address written for this person takes (`prenom.nom`, `pnom`, `nom.prenom`…).

    `given` is the first name as written (its first name alone, its initial and the initials of
    a compound count too: `jc.legal` for Jean-Christophe), `surname` compact. With `bare`, the
    surname alone counts as well: enough to say whose name an address spells, too little to
    prove it.
    """
    whole = compact(given)
    if not whole or not surname:
        return frozenset()
    initials = "".join(word[:1] for word in tokens(given))
    firsts = {whole, first_given(given), whole[:1], initials}
    forms = {surname} if bare else set()
    for first in firsts:
        forms.add(first + surname)
        forms.add(surname + first)
    return frozenset(forms)


def first_given(prenom: str) -> str:
    """The first given name, compact: "Jean-Marie" → "jean"."""
    words = tokens(prenom)
    return words[0] if words else ""


def given_fits(roster_prenom: str, cert_given: str) -> bool:
    """Whether a roster first name and a certificate's given name(s) name the same person.

    Equal once compacted, or the roster's first given name is the certificate's first one
    ("Jean" for "Jean Marie Pierre", "Jean-Marie" for "Jean").
    """
    roster, cert = compact(roster_prenom), compact(cert_given)
    if not roster or not cert:
        return False
    return roster == cert or first_given(roster_prenom) == first_given(cert_given)
