"""Roster agents turned into import lines the socle accepts, every adaptation said out loud."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from certsync.findings import Code, Finding
from certsync.onboarding import rules
from certsync.records import Agent
from certsync.roster.columns import header_key

# Optional roster columns that fill the model's other columns (header_key form).
_EXTRA_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "civilite": ("civilite", "civ", "titre"),
    "elu": ("elu", "elue"),
    "fonction": ("fonction", "poste", "intituledeposte"),
    "adresse": ("adresse", "adressepostale"),
    "codepostal": ("codepostal", "cp"),
    "ville": ("ville",),
    "telephoneportable": ("telephoneportable", "portable", "mobile", "telephonemobile"),
    "telephonefixe": ("telephonefixe", "telephone", "tel", "telfixe"),
    "fax": ("fax", "telecopie"),
}
_BY_HEADER = {syn: key for key, syns in _EXTRA_SYNONYMS.items() for syn in syns}
# Letters the name class lacks, with the spelling French administrations use for them.
_LIGATURES = {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"}
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\t": " "}
_CIVILITIES = {
    "mr": "MR",
    "m": "MR",
    "m.": "MR",
    "monsieur": "MR",
    "mrs": "MRS",
    "mme": "MRS",
    "madame": "MRS",
    "mlle": "MRS",
    "mademoiselle": "MRS",
    "na": "",
}
_ELECTED = {"oui": "oui", "o": "oui", "x": "oui", "vrai": "oui", "non": "non", "n": "non"}
_PHONE_PUNCTUATION = re.compile(r"[\s.\-/()\u00a0\u202f]")


@dataclass(frozen=True, slots=True)
class Newcomer:
    """A roster agent written as an import line (values in model order)."""

    agent: Agent
    values: tuple[str, ...]


def read_extras(path: Path, sheet: str | None) -> dict[int, dict[str, str]]:
    """Optional model columns (civilité, téléphones, fonction…) of the roster, by row number."""
    # The roster reader keeps only the columns certsync runs need; the same table is read
    # again here through its own loaders, so that every format it accepts is accepted.
    from certsync.roster.reader import Limits, _load, _table, find_header

    limits = Limits()
    table = _table(path, _load(path, limits), sheet, limits)
    found = find_header(table.rows)
    if found is None:
        return {}
    position = found[0]
    header = table.rows[position].cells
    columns = {i: _BY_HEADER[k] for i, k in enumerate(map(header_key, header)) if k in _BY_HEADER}
    extras: dict[int, dict[str, str]] = {}
    for row in table.rows[position + 1 :]:
        values = {key: row.cells[i].strip() for i, key in columns.items() if i < len(row.cells)}
        extras[row.number] = {k: v for k, v in values.items() if v}
    return extras


def adapt(agent: Agent, extras: Mapping[str, str]) -> tuple[Newcomer | None, list[Finding]]:
    """The agent's import line, or None when a required value cannot be made acceptable."""
    found: list[Finding] = []
    values: dict[str, str] = {}
    required = {"prenom": agent.prenom, "nom": agent.nom, "courriel": agent.email}
    for key, raw in required.items():
        value = unicodedata.normalize("NFC", raw.strip())
        if not value:
            found.append(_at(agent, Code.ONBOARD_FIELD_MISSING, column=rules.LABELS[key]))
            continue
        written, reason = _adapt_name(value) if key != "courriel" else (value, "")
        if written is None or not rules.accepts(key, written):
            found.append(
                _at(
                    agent,
                    Code.ONBOARD_VALUE_REFUSED,
                    column=rules.LABELS[key],
                    value=value,
                    reason=reason or rules.MESSAGES[key],
                )
            )
            continue
        if written != raw:
            found.append(_adapted(agent, key, raw, written, reason))
        values[key] = written
    for key, raw in extras.items():
        written, reason = _adapt_optional(key, raw)
        if written is None:
            found.append(
                _at(
                    agent,
                    Code.ONBOARD_VALUE_DROPPED,
                    column=rules.LABELS[key],
                    value=raw,
                    reason=reason,
                )
            )
            continue
        if written != raw:
            found.append(_adapted(agent, key, raw, written, reason))
        values[key] = written
    if any(f.code in {Code.ONBOARD_FIELD_MISSING, Code.ONBOARD_VALUE_REFUSED} for f in found):
        return None, found
    line = tuple(values.get(key, "") for key in rules.KEYS)
    assert not rules.check_line(line), line  # every value above passed accepts()
    return Newcomer(agent, line), found


def _at(agent: Agent, code: Code, **params: object) -> Finding:
    return Finding(
        code, agent.row, None, {"email": agent.email, "name": agent.display_name, **params}
    )


def _adapted(agent: Agent, key: str, before: str, after: str, reason: str) -> Finding:
    return _at(
        agent,
        Code.ONBOARD_VALUE_ADAPTED,
        column=rules.LABELS[key],
        value=before,
        written=after,
        reason=reason or "espaces ou forme Unicode",
    )


def _adapt_name(value: str) -> tuple[str | None, str]:
    """A name with every character the class refuses replaced by its accepted spelling."""
    out: list[str] = []
    replaced: list[str] = []
    for char in value:
        if rules.name_char_ok(char):
            out.append(char)
            continue
        substitute = _LIGATURES.get(char) or _APOSTROPHES.get(char)
        if substitute is None:
            base = "".join(
                c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
            )
            substitute = base if base and all(map(rules.name_char_ok, base)) else None
        if substitute is None:
            return None, f"caractère « {char} » refusé par l'import du socle, sans équivalent"
        out.append(substitute)
        replaced.append(char)
    reason = ""
    if replaced:
        listed = ", ".join(dict.fromkeys(replaced))
        reason = f"caractère(s) refusé(s) par l'import du socle : {listed}"
    return "".join(out), reason


def _adapt_optional(key: str, raw: str) -> tuple[str | None, str]:
    """An optional value in an accepted form, or None (left empty) with the reason."""
    value = unicodedata.normalize("NFC", raw.strip())
    if key == "civilite":
        mapped = _CIVILITIES.get(value.casefold())
        if mapped is None:
            return None, "civilité inconnue (attendu : M., Mme, MR, MRS)"
        return mapped, "l'import attend MR ou MRS, en majuscules"
    if key == "elu":
        elected = _ELECTED.get(value.casefold())
        if elected is None:
            return None, "attendu : oui ou non"
        return elected, "l'import attend oui ou non"
    if key in {"telephoneportable", "telephonefixe", "fax"}:
        digits = _PHONE_PUNCTUATION.sub("", value)
        if digits.startswith("+33"):
            digits = "0" + digits[3:]
        elif digits.startswith("0033"):
            digits = "0" + digits[4:]
        if rules.accepts(key, digits):
            return digits, "l'import attend 10 chiffres sans espace ni séparateur"
        return None, "10 chiffres attendus, sans séparateur"
    if key == "codepostal":
        digits = value.replace(" ", "")
        if rules.accepts(key, digits):
            return digits, "l'import attend 5 chiffres"
        return None, "5 chiffres attendus"
    # Free text (fonction, adresse, ville): one line, no character the CSV reader would eat.
    flat = " ".join(value.split()).replace('"', "'").replace("\\", "/")
    if not flat or not rules.accepts(key, flat):
        return None, "255 caractères au plus, sur une seule ligne"
    return flat, "retours à la ligne, guillemets ou barres obliques inverses remplacés"
