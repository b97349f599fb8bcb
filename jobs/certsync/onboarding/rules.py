"""The socle importer's rules as it really applies them: model header, limits, effective patterns.

Sources (`megalis-bretagne/myec3-socle` v0.3.6): `pages/organism/agent/export/Import.java`
(`HEADER_LENGTH`, `MIN_NB_LINES`, `checkFileHeaders`), `Report.java` (`checkFileContent`,
`isFieldMatchRegex`, `isFieldRequired`, `convertImportToListOfAgents`), `Report.properties`
(`user-import-column-regex-*`, `user-import-column-required-*`), `GuWebAppConstants`
(`IMPORT_MAX_FILE_SIZE`, `IMPORT_MAX_LINES`), `static/download/modele_import.csv`.

The patterns below are the EFFECTIVE ones. Tapestry 5.8.2 reads a message catalogue through
`PropertiesFileParserImpl.parsePropertiesFile` (`apache/tapestry-5`): UTF-8 turned into
`\\uXXXX` escapes, then `java.util.Properties.load`, which drops the backslash of every escape
it does not know. So `^[a-zA-Z\\\\'\\-\\s\\ ,àá…]` in the file becomes `^[a-zA-Z\\'-s ,àá…]`:
the class holds the RANGE `'`…`s` (0x27–0x73: digits, `@`, `/`, `(`, `-`…), a space but no tab,
and of the non-ASCII letters only the lowercase ones listed (no É, ñ, œ, æ). In the e-mail
pattern `\\.` becomes `.`, any character. Java's `.` excludes every line terminator, and
`Matcher.matches()` must consume the whole value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

#: The model's header (modele_import.csv), compared with trim().equalsIgnoreCase.
HEADER = (
    "Civilité",
    "Prénom",
    "Nom",
    "Elu",
    "Fonction",
    "Adresse",
    "CodePostal",
    "Ville",
    "Courriel",
    "TéléphonePortable",
    "TéléphoneFixe",
    "Fax",
)
#: The keys Report.java uses (header unaccented, lower-cased).
KEYS = (
    "civilite",
    "prenom",
    "nom",
    "elu",
    "fonction",
    "adresse",
    "codepostal",
    "ville",
    "courriel",
    "telephoneportable",
    "telephonefixe",
    "fax",
)
REQUIRED = frozenset({"prenom", "nom", "courriel"})
MAX_RECORDS = 5000
"""`IMPORT_MAX_LINES`, counted by `CsvHelper.countLines`: records, the header included."""
MAX_BYTES = 1_048_576
"""`IMPORT_MAX_FILE_SIZE`."""
#: The enumerated columns: the value must equal one of these, ignoring case (no trim).
ENUMS: Mapping[str, tuple[str, ...]] = {"civilite": ("NA", "MR", "MRS"), "elu": ("oui", "non")}
#: `Civility.valueOf` is case-sensitive: any other spelling than these makes the report page
#: throw, and the socle sends the administrator back to its home page.
CIVILITY_VALUES = frozenset({"MR", "MRS"})

# Java's `.`: anything but a line terminator.
_ANY = "[^\n\r\u0085\u2028\u2029]"
NAME_CLASS = "a-zA-Z'-s ,àáâäçèéêëìíîïòóôùúûü"
"""The name class as Java compiles it after Properties.load (the range `'-s` included)."""
_NAME = re.compile(f"[{NAME_CLASS}]+")
_EMAIL = re.compile(f"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9\\-.]+{_ANY}[a-zA-Z.]{{2,5}}")
_FIVE = re.compile("[0-9]{5}")
_TEN = re.compile("[0-9]{10}")
_FREE = re.compile(f"{_ANY}+")
_LIMITED = {"prenom", "nom", "fonction", "adresse", "ville"}
_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "prenom": _NAME,
    "nom": _NAME,
    "fonction": _FREE,
    "adresse": _FREE,
    "ville": _FREE,
    "codepostal": _FIVE,
    "courriel": _EMAIL,
    "telephoneportable": _TEN,
    "telephonefixe": _TEN,
    "fax": _TEN,
}
#: The socle's own error message per column (Report.properties), for the report and workbook.
MESSAGES: Mapping[str, str] = {
    "civilite": "Le champ civilité doit contenir une des valeurs suivantes : NA, MR, MRS",
    "prenom": "Le champ prénom doit contenir entre 1 et 255 caractères alphabétiques",
    "nom": "Le champ nom doit contenir entre 1 et 255 caractères alphabétiques",
    "elu": "Le champ élu doit contenir une des valeurs suivantes : oui, non",
    "fonction": "Le champ fonction doit contenir entre 1 et 255 caractères alphabétiques",
    "adresse": "Syntaxe de l'adresse postale incorrecte",
    "codepostal": "Le champ code postal doit être composé de 5 chiffres",
    "ville": "Le champ ville doit contenir entre 1 et 255 caractères alphabétiques",
    "courriel": "Syntaxe de l'adresse mail incorrecte",
    "telephoneportable": "Le numéro de téléphone portable doit être composé de 10 chiffres",
    "telephonefixe": "Le numéro de téléphone fixe doit être composé de 10 chiffres",
    "fax": "Le numéro de téléphone fax doit être composé de 10 chiffres",
}
LABELS: Mapping[str, str] = dict(zip(KEYS, HEADER, strict=True))


class Problem(StrEnum):
    """Why the importer would refuse a value."""

    REQUIRED = "required"
    PATTERN = "pattern"
    VALUE_OF = "value_of"
    """Passes the check but `Civility.valueOf` throws: the whole report page fails."""


def utf16_length(value: str) -> int:
    """Length as Java counts it (UTF-16 code units), for the `{1,255}` quantifiers."""
    return len(value) + sum(1 for c in value if ord(c) > 0xFFFF)


def java_equals_ignore_case(a: str, b: str) -> bool:
    """`String.equalsIgnoreCase`: same length, each pair equal upper- or lower-cased."""
    return len(a) == len(b) and all(
        x == y or x.upper() == y.upper() or x.lower() == y.lower()
        for x, y in zip(a, b, strict=True)
    )


def accepts(key: str, value: str) -> bool:
    """Whether the importer accepts a non-empty `value` in column `key` (isFieldMatchRegex)."""
    if key in ENUMS:
        return any(java_equals_ignore_case(option, value) for option in ENUMS[key])
    if not _PATTERNS[key].fullmatch(value):
        return False
    return key not in _LIMITED or utf16_length(value) <= 255


def name_char_ok(char: str) -> bool:
    """Whether one character is in the effective name class."""
    return bool(_NAME.fullmatch(char))


def check_line(values: Sequence[str]) -> list[tuple[str, Problem]]:
    """The importer's verdict on one line of 12 values: (column key, problem) per refusal."""
    problems: list[tuple[str, Problem]] = []
    for key, value in zip(KEYS, values, strict=True):
        if not value:
            if key in REQUIRED:
                problems.append((key, Problem.REQUIRED))
        elif not accepts(key, value):
            problems.append((key, Problem.PATTERN))
        elif (
            key == "civilite"
            and not java_equals_ignore_case("NA", value)
            and value not in CIVILITY_VALUES
        ):
            problems.append((key, Problem.VALUE_OF))
    return problems
