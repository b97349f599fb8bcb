"""Turning data rows into Agents: cleaning, required fields, e-mails, identifiers, file refs."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from certsync.findings import Code, Finding, finding
from certsync.records import Agent
from certsync.roster.clean import clean_org_number, clean_text, email_problem, join_siret
from certsync.roster.columns import LABELS, ColumnMap, Field
from certsync.roster.formulas import EmptyFormulas
from certsync.roster.paths import FileIndex
from certsync.roster.table import Row


def build_agents(
    rows: Sequence[Row],
    columns: ColumnMap,
    index: FileIndex | None,
    formulas: EmptyFormulas | None = None,
) -> tuple[list[Agent], list[Finding]]:
    """Agents for the data rows under the header, blank rows skipped, with their row findings.

    `formulas` (XLSX) explains cells left empty by formulas saved without a result.
    """
    agents: list[Agent] = []
    findings: list[Finding] = []
    first_row: dict[str, int] = {}
    where = list(columns.columns.items())
    first_field, first_index = where[0]
    header_first = columns.names[first_index]
    for row in rows:
        cells = row.cells
        if not any(cells):
            continue
        width = len(cells)
        values = {f: clean_text(cells[i]) if i < width else "" for f, i in where}
        # A row is blank when nothing visible is left anywhere, zero-width junk included.
        if not any(values.values()) and not any(clean_text(c) for c in cells):
            continue
        if values[first_field] == header_first and _repeats_header(values, columns):
            continue  # the header again, as when two exports were pasted one after the other
        blanks = _NONE
        if formulas is not None and not all(values.values()):
            blanks = _formula_blanks(row.number, where, values, formulas)
        agent, row_findings = _agent(row.number, values, columns, index, blanks)
        key = agent.email.casefold()  # Agent.email_key, without the property call
        if key:
            if key in first_row:
                row_findings.append(
                    finding(
                        Code.ROSTER_DUPLICATE_AGENT,
                        row=row.number,
                        email=agent.email,
                        first_row=first_row[key],
                    )
                )
            else:
                first_row[key] = row.number
        agents.append(agent)
        findings.extend(row_findings)
    return agents, findings


_NONE: dict[Field, str] = {}


def _formula_blanks(
    row: int,
    where: list[tuple[Field, int]],
    values: dict[Field, str],
    formulas: EmptyFormulas,
) -> dict[Field, str]:
    """Fields left empty because their cell is a formula without a result: field → cell."""
    found = {f: formulas.get(row, i) for f, i in where if not values[f]}
    return {f: ref for f, ref in found.items() if ref is not None}


def _repeats_header(values: dict[Field, str], columns: ColumnMap) -> bool:
    return all(values[field] == columns.names[index] for field, index in columns.columns.items())


def _agent(
    row: int,
    values: dict[Field, str],
    columns: ColumnMap,
    index: FileIndex | None,
    blanks: dict[Field, str],
) -> tuple[Agent, list[Finding]]:
    """One Agent and its row findings (except duplicates, which need the whole roster)."""
    found: list[Finding] = []
    get = values.get
    nom, prenom, full_name = get(Field.NOM, ""), get(Field.PRENOM, ""), get(Field.FULL_NAME, "")
    email, login = get(Field.EMAIL, ""), get(Field.LOGIN, "")
    if not email and columns.socle and "@" in login:
        # The socle's export leaves profil_email empty for some accounts; the username is the
        # e-mail they log in with.
        email = login
    missing = _missing(nom, prenom, full_name, email, columns, blanks)
    if missing:
        found.append(finding(Code.ROSTER_ROW_INCOMPLETE, row=row, missing=_ni(missing)))
    if email:
        problem = email_problem(email)
        if problem is not None:
            found.append(finding(Code.ROSTER_EMAIL_INVALID, row=row, email=email, reason=problem))
    siren, siret = _ids(row, values, columns, found)
    for field, column in ((Field.SIREN, "SIREN"), (Field.SIRET, "SIRET")):
        if field in blanks:
            found.append(_id_finding(row, f"formule en {blanks[field]}", column, _NO_RESULT))
    file_ref = get(Field.FILE, "")
    if file_ref and index is not None:
        found.extend(_file_findings(row, file_ref, index))
    # Positional: this runs once per row and keyword passing is measurably slower on 200k rows.
    agent = Agent(
        row,
        email,
        nom,
        prenom,
        full_name,
        # Shared by every agent of an organisation: one string each, not one per row.
        sys.intern(get(Field.ORGANISATION, "")),
        sys.intern(siren),
        sys.intern(siret),
        login,
        file_ref,
        get(Field.PROFIL_ID, ""),
    )
    return agent, found


def _missing(
    nom: str,
    prenom: str,
    full_name: str,
    email: str,
    columns: ColumnMap,
    blanks: dict[Field, str],
) -> list[str]:
    """What the row lacks among the name and the e-mail, in the order the finding lists it."""
    missing: list[str] = []
    if not ((nom and prenom) or full_name):
        if Field.NOM in columns.columns and Field.PRENOM in columns.columns:
            missing += [
                _why(LABELS[f], f, blanks)
                for f, v in ((Field.NOM, nom), (Field.PRENOM, prenom))
                if not v
            ]
        else:
            missing.append(_why("nom", Field.FULL_NAME, blanks))
    if not email:
        # "courriel" rather than "adresse e-mail": the catalogue's "n'a pas de {missing}" would
        # otherwise read "pas de adresse".
        missing.append(_why("courriel", Field.EMAIL, blanks))
    return missing


def _file_findings(row: int, file_ref: str, index: FileIndex) -> list[Finding]:
    """The row's certificate file, when it names one that the folder does not hold."""
    resolved, reason = index.resolve(file_ref)
    if resolved is not None:
        return []
    return [finding(Code.ROSTER_FILE_NOT_FOUND, row=row, name=file_ref, reason=reason)]


def _ids(
    row: int, values: dict[Field, str], columns: ColumnMap, found: list[Finding]
) -> tuple[str, str]:
    """Checked SIREN and SIRET; an unusable value is reported and left out, never guessed."""
    raw_siren, raw_siret = values.get(Field.SIREN, ""), values.get(Field.SIRET, "")
    if columns.socle and raw_siren:
        raw_siret = join_siret(clean_org_number(raw_siren).digits, values.get(Field.NIC, ""))
    numbers = []
    for raw, column in ((raw_siren, "SIREN"), (raw_siret, "SIRET")):
        if raw:
            check = clean_org_number(raw)
            numbers.append(check.digits)
            if check.problem:
                found.append(_id_finding(row, raw, column, check.problem))
    # Either column may hold either number: a SIREN column with a SIRET, a SIRET column with
    # a SIREN. The organisation is then compared on the SIREN, and on the SIRET when known.
    siret = next((n for n in numbers if len(n) == 14), "")
    siren = next((n for n in numbers if len(n) == 9), siret[:9])
    return siren, siret


_NO_RESULT = "le résultat de la formule n'a pas été enregistré dans le fichier"


def _why(label: str, field: Field, blanks: dict[Field, str]) -> str:
    """The missing item, explained when its cell is a formula saved without a result."""
    return f"{label} (formule sans résultat en {blanks[field]})" if field in blanks else label


def _id_finding(row: int, value: str, column: str, reason: str) -> Finding:
    return finding(Code.ROSTER_ID_INVALID, row=row, value=value, column=column, reason=reason)


def _ni(items: list[str]) -> str:
    """French negative list after "pas de": `nom, de prénom ni de courriel`."""
    if len(items) == 1:
        return items[0]
    return ", ".join([items[0], *(f"de {i}" for i in items[1:-1])]) + f" ni de {items[-1]}"
