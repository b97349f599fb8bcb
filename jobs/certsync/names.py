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
