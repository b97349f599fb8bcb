"""The administrator's decisions file: certificate SHA-256 → e-mail(s) to assign, or `ignorer`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from certsync.errors import InputError
from certsync.findings import Code, Finding, finding
from certsync.fsutil import read_regular
from certsync.match import AdminDecision
from certsync.roster.csvfile import decode

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_IGNORE = {"ignorer", "ignore", "rejet", "rejeter"}


def read_decisions(path: Path) -> tuple[dict[str, AdminDecision], list[Finding]]:
    """Read the decisions CSV (`;` or `,`; UTF-8 or cp1252); bad lines become findings."""
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise InputError(
            f"Fichier de décisions illisible : {path} ({exc.strerror or exc}).",
            hint="Vérifiez le chemin donné à --decisions ou « decisions » dans la configuration.",
        ) from exc
    # The same rules as the roster: UTF-8 or cp1252, never a silent latin-1 misreading.
    text, _encoding = decode(raw, str(path), "Le fichier de décisions")
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") >= first.count(",") else ","
    decisions: dict[str, AdminDecision] = {}
    findings: list[Finding] = []
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    for fields in reader:
        line = reader.line_num
        cells = [c.strip().strip("\ufeff") for c in fields]
        if not any(cells):
            continue
        sha = re.sub(r"[\s:]", "", cells[0]).lower()
        target = cells[1] if len(cells) > 1 else ""
        if not _SHA256.match(sha):
            if line == 1:
                continue  # a header row
            findings.append(
                finding(
                    Code.MATCH_DECISION_INVALID,
                    line=line,
                    where=f"de la ligne {line} du fichier de décisions",
                    reason=f"« {cells[0]} » n'est pas une empreinte SHA-256 "
                    "(64 chiffres hexadécimaux)",
                )
            )
            continue
        if not target:
            findings.append(
                finding(
                    Code.MATCH_DECISION_INVALID,
                    line=line,
                    where=f"de la ligne {line} du fichier de décisions",
                    reason="la deuxième colonne (e-mail ou « ignorer ») est vide",
                )
            )
            continue
        previous = decisions.get(sha)
        if target.casefold() in _IGNORE:
            decisions[sha] = AdminDecision(sha, (), True, line)
        elif previous is not None and not previous.ignore:
            # Several lines for one certificate: a certificate shared by several accounts.
            decisions[sha] = AdminDecision(sha, (*previous.emails, target.casefold()), False, line)
        else:
            decisions[sha] = AdminDecision(sha, (target.casefold(),), False, line)
    return decisions, findings
