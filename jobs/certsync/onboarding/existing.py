"""The socle's own export (export_agent.csv) read back into import lines that change nothing.

The export is `ExportAgentCSVGeneratorServiceImpl` (`myec3-socle-core`): civility as its label
(`Civility.getLabel()`: `M.`, `Mme`), `agent_profil_elected` as `true`/`false`, every other
value as stored, empty for null. The import wants `MR`/`MRS` (`Civility.valueOf`) and
`oui`/`non` (`Report.convertImportToListOfAgents` compares with `true-label`, "Oui").
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from certsync.errors import InputError
from certsync.roster.csvfile import decode

#: Export columns the import line is built from.
NEEDED = (
    "user_civility",
    "user_firstname",
    "user_lastname",
    "user_username",
    "profil_id",
    "profil_email",
    "profil_enabled",
    "profil_function",
    "profil_postalAddress",
    "profil_postalCode",
    "profil_city",
    "profil_country",
    "profil_cellPhone",
    "profil_phone",
    "profil_fax",
    "agent_profil_elected",
    "organism_id",
    "organism_label",
    "organism_siren",
)
CIVILITY_FROM_LABEL = {"M.": "MR", "Mme": "MRS", "": ""}
ELECTED_FROM_EXPORT = {"true": "oui", "false": "non", "": ""}


@dataclass(frozen=True, slots=True)
class Organisation:
    """One organism of the export."""

    id: str
    label: str
    siren: str

    @property
    def display(self) -> str:
        """Name for messages."""
        return f"{self.label} (n° {self.id})" if self.label else f"organisme n° {self.id}"


#: What "Désactiver" appends to the last name (same constant as the socle connector's).
DISABLED_SUFFIX = " (désactivé)"


@dataclass(frozen=True, slots=True)
class ExistingAgent:
    """One agent of the export, with the import line that writes its values back."""

    line: int
    """Record number in the export (the header is 1)."""
    organisation: Organisation
    profil_id: str
    email: str
    enabled: bool
    """The profile is listed as enabled (the real export lists only those)."""
    user_disabled: bool
    """"Désactiver" was used: the user is disabled but the profile stays in the export, with
    " (désactivé)" appended to the last name (myec3-socle `ListAgents.disableAgentProfile`)."""
    values: tuple[str, ...]
    """The 12 model values, in model order."""
    unmapped: tuple[tuple[str, str], ...]
    """(column, exported value) the import cannot express (an unknown civility label…)."""
    username: str
    country: str

    @property
    def name(self) -> str:
        """Display name."""
        return f"{self.values[1]} {self.values[2]}".strip()


def read_export(path: Path) -> list[ExistingAgent]:
    """Every agent of an export_agent.csv file, in file order."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"L'export du socle « {path} » est illisible ({exc.strerror}).",
            hint="Téléchargez-le depuis « Gérer les utilisateurs » → « Exporter la liste des "
            "utilisateurs » et indiquez son chemin avec --export.",
        ) from None
    text, _encoding = decode(data, path.name, "L'export du socle")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    if not records:
        raise InputError(f"L'export du socle « {path.name} » est vide.")
    header = [h.strip() for h in records[0]]
    missing = [name for name in NEEDED if name not in header]
    if missing:
        raise InputError(
            f"« {path.name} » n'est pas un export des agents du socle : colonne(s) "
            + ", ".join(missing)
            + " absente(s).",
            hint="Utilisez le fichier export_agent.csv tel que le socle le donne, sans le "
            "réenregistrer dans un tableur.",
        )
    index = {name: header.index(name) for name in NEEDED}
    agents = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        row = {name: (record[i] if i < len(record) else "") for name, i in index.items()}
        agents.append(_agent(number, row))
    return agents


def _agent(number: int, row: dict[str, str]) -> ExistingAgent:
    unmapped: list[tuple[str, str]] = []
    civility = CIVILITY_FROM_LABEL.get(row["user_civility"])
    if civility is None:
        unmapped.append(("Civilité", row["user_civility"]))
        civility = row["user_civility"]
    elected = ELECTED_FROM_EXPORT.get(row["agent_profil_elected"])
    if elected is None:
        unmapped.append(("Elu", row["agent_profil_elected"]))
        elected = row["agent_profil_elected"]
    values = (
        civility,
        row["user_firstname"],
        row["user_lastname"],
        elected,
        row["profil_function"],
        row["profil_postalAddress"],
        row["profil_postalCode"],
        row["profil_city"],
        row["profil_email"],
        row["profil_cellPhone"],
        row["profil_phone"],
        row["profil_fax"],
    )
    organisation = Organisation(row["organism_id"], row["organism_label"], row["organism_siren"])
    return ExistingAgent(
        line=number,
        organisation=organisation,
        profil_id=row["profil_id"],
        email=row["profil_email"],
        enabled=row["profil_enabled"].strip().lower() != "false",
        user_disabled=row["user_lastname"].rstrip().endswith(DISABLED_SUFFIX),
        values=values,
        unmapped=tuple(unmapped),
        username=row["user_username"],
        country=row["profil_country"],
    )
