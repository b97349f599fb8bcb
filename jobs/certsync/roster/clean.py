"""Cleaning of roster cells: invisible characters, Unicode form, e-mails and SIREN/SIRET numbers."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from certsync.french import plural

# Zero-width characters that spreadsheets and copy-paste from web pages leave behind;
# str.strip() does not remove them (see matching-and-reliability.md §2).
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Non-breaking spaces inside a value become plain spaces; at the ends strip() removes them.
_NBSP = {0x00A0: " ", 0x202F: " "}
_TRANSLATE = {**_ZERO_WIDTH, **_NBSP}
_BREAKS = re.compile(r"[ \t\r\n]*[\r\n\t][ \t\r\n]*")


def clean_text(value: str) -> str:
    """Remove zero-width characters, turn non-breaking spaces into spaces, strip, NFC-normalise.

    Line breaks and tabs inside a cell (Alt+Entrée in Excel) become spaces as well.
    """
    if not value.isascii():
        value = value.translate(_TRANSLATE)
        # The quick check avoids building a new string for text that is already NFC (most).
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
    value = value.strip()
    if "\n" in value or "\r" in value or "\t" in value:
        value = _BREAKS.sub(" ", value)
    return value


# --- e-mails -----------------------------------------------------------------------------------

# A strict subset of what email-validator accepts (plain ASCII dot-atom local part); addresses
# that match it skip the validator, which costs about 20 µs each and would dominate a 200k roster.
_FAST_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*\Z")

# English messages of email-validator, by fragment, and what the administrator reads instead.
_REASONS: tuple[tuple[str, str], ...] = (
    ("must have an @-sign", "il manque le caractère @"),
    ("invalid characters before the @-sign: SPACE", "elle contient un espace"),
    ("unsafe characters", "elle contient un caractère invisible ou interdit"),
    ("two periods in a row", "elle contient deux points qui se suivent"),
    ("should have a period", "le domaine après @ n'a pas d'extension comme .fr ou .com"),
    ("special-use or reserved", "le domaine après @ est un nom réservé"),
    ("top-level domain", "l'extension du domaine n'existe pas"),
    ("There must be something before the @-sign", "il manque la partie avant @"),
    ("There must be something after the @-sign", "il manque le domaine après @"),
    ("after the @-sign contains invalid characters: '@'", "elle contient plusieurs caractères @"),
    ("before the @-sign", "caractère interdit avant @"),
    ("after the @-sign", "domaine après @ mal formé"),
    ("too long", "elle est trop longue"),
)


def _french_reason(message: str) -> str:
    for fragment, reason in _REASONS:
        if fragment in message:
            return reason
    return "forme non conforme"


@functools.lru_cache(maxsize=4096)
def _domain_problem(domain: str) -> str | None:
    """Why the domain part is invalid, or None; cached because a roster has few domains."""
    try:
        validate_email(f"a@{domain}", check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return _french_reason(str(exc))
    return None


def email_problem(email: str) -> str | None:
    """Why a cleaned e-mail is invalid, in French, or None when it is valid."""
    local, at, domain = email.rpartition("@")
    if at and len(email) <= 254 and len(local) <= 64 and _FAST_LOCAL.match(local):
        return _domain_problem(domain)
    try:
        validate_email(email, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return _french_reason(str(exc))
    return None


# --- SIREN / SIRET -----------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+\Z")
_SPACES = re.compile(r"\s+")
#: Spaces and dots that group the digits of a number as people write it.
_SEPARATORS = re.compile(r"[\s.]+")
_BAD_KEY = "la clé de contrôle est fausse"


@dataclass(frozen=True, slots=True)
class IdCheck:
    """A SIREN or SIRET cell once cleaned: the digits when valid, else why not."""

    digits: str
    """Nine or fourteen digits, or empty when the cell is empty or invalid."""
    problem: str = ""
    """French reason the value is refused; empty when valid or empty."""


@functools.lru_cache(maxsize=65536)
def clean_org_number(value: str) -> IdCheck:
    """A SIREN or SIRET cell read for what it holds: nine digits (SIREN) or fourteen (SIRET).

    Rosters put a SIREN in the SIRET column and the reverse, and write numbers in groups
    (`213 502 388 00019`); either way the organisation is kept, never guessed.
    """
    # A leading apostrophe is left by a CSV export of a cell typed as text.
    text = _SEPARATORS.sub("", clean_text(value).removeprefix("'"))
    if not text:
        return IdCheck("")
    if _SCIENTIFIC.match(text):
        return IdCheck("", "notation scientifique : le tableur a arrondi le numéro")
    if not text.isascii() or not text.isdigit():
        return IdCheck("", "il ne doit contenir que des chiffres")
    if len(text) in (8, 13):
        # A spreadsheet stored the number as a number and dropped the leading zero.
        text = "0" + text
    if len(text) == 9:
        return IdCheck(text) if stdnum_siren.is_valid(text) else IdCheck("", _BAD_KEY)
    if len(text) == 14:
        return IdCheck(text) if stdnum_siret.is_valid(text) else IdCheck("", _BAD_KEY)
    return IdCheck("", f"{plural(len(text), 'chiffre')} au lieu de 9 (SIREN) ou 14 (SIRET)")


def join_siret(siren: str, nic: str) -> str:
    """SIRET from a SIREN and a NIC (socle export), or empty when the NIC is not five digits."""
    nic = _SPACES.sub("", clean_text(nic)).lstrip("'")
    if not siren or not nic.isascii() or not nic.isdigit() or len(nic) > 5:
        return ""
    # A NIC stored as a number loses its leading zeros, like the SIREN.
    return siren + nic.zfill(5)
