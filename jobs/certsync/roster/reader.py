"""The roster stage: open the file, find the header, turn each data row into an Agent."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from certsync.config import Limits
from certsync.errors import InputError
from certsync.fsutil import NotARegularFile, open_regular
from certsync.records import Roster
from certsync.roster.agents import build_agents
from certsync.roster.clean import clean_text
from certsync.roster.columns import LABELS, ColumnMap, accepted_names, map_columns
from certsync.roster.csvfile import read_csv
from certsync.roster.paths import FileIndex
from certsync.roster.table import Row, Table
from certsync.roster.xlsx import SAVE_AS_HINT, read_xlsx

HEADER_SCAN = 20
"""Non-empty rows searched for the header (title rows and notes may sit above it)."""

_REFUSED_SUFFIXES = {
    ".xls": "au format Excel 97-2003 (.xls)",
    ".xlsm": "un classeur avec macros (.xlsm)",
    ".xltm": "un modèle avec macros (.xltm)",
    ".xlsb": "au format Excel binaire (.xlsb)",
    ".ods": "au format OpenDocument (.ods)",
    ".numbers": "au format Numbers",
}
_ZIP_MAGIC = b"PK\x03\x04"
# Compound File Binary: .xls, and also any xlsx protected by a password (Excel encrypts it inside).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_roster(
    path: Path,
    *,
    sheet: str | None = None,
    limits: Limits = Limits(),  # noqa: B008 - Limits is frozen, sharing the default is safe
    certs_root: Path | None = None,
) -> Roster:
    """Read a CSV or XLSX roster into agents (in roster order) and row findings."""
    with _gc_paused():
        return _read(path, sheet, limits, certs_root)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while rows are built.

    Reading allocates millions of small lists and records, none in reference cycles; the
    collector's repeated passes over them cost about a quarter of the time on a 200k roster.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read(path: Path, sheet: str | None, limits: Limits, certs_root: Path | None) -> Roster:
    data = _load(path, limits)
    table = _table(path, data, sheet, limits)
    found = find_header(table.rows)
    if found is None:
        raise InputError(
            f"Aucune ligne d'en-tête reconnue dans les {HEADER_SCAN} premières lignes de "
            f"« {path.name} ».",
            hint="La liste doit avoir une ligne de titres de colonnes. " + _accepted_hint(),
        )
    position, columns = found
    missing = columns.missing_required()
    if missing:
        header_row = table.rows[position].number
        found_names = ", ".join(f"« {n} »" for n in columns.names if n.strip()) or "aucune"
        raise InputError(
            (
                "Colonne obligatoire absente"
                if len(missing) == 1
                else "Colonnes obligatoires absentes"
            )
            + " de la liste des agents : "
            + ", ".join(LABELS[f] for f in missing)
            + f". Colonnes trouvées (ligne {header_row}) : {found_names}.",
            hint=_accepted_hint(),
        )
    index = FileIndex(certs_root) if certs_root is not None else None
    agents, findings = build_agents(table.rows[position + 1 :], columns, index, table.formulas)
    if not agents:
        raise InputError(
            f"La liste des agents « {path.name} » ne contient aucune ligne d'agent sous "
            "la ligne d'en-tête.",
            hint="Vérifiez le fichier (et la feuille choisie avec --sheet).",
        )
    detected = {
        **table.detected,
        "layout": "export du socle" if columns.socle else "liste",
        "header_row": str(table.rows[position].number),
        "columns": columns.summary(),
        "agents": str(len(agents)),
    }
    return Roster(tuple(agents), tuple(findings), str(path), detected)


def _accepted_hint() -> str:
    return (
        "Colonnes obligatoires : une adresse e-mail et le nom + prénom (ou un nom complet). "
        f"Noms acceptés — {accepted_names()}. L'export des agents du socle est aussi accepté."
    )


def _load(path: Path, limits: Limits) -> bytes:
    """The file's bytes, after the checks that need no reading."""
    hint = "Vérifiez le chemin de la liste des agents."
    try:
        if path.is_dir():
            raise InputError(f"« {path} » est un dossier, pas une liste des agents.", hint=hint)
        # A FIFO or a device is refused before any read: reading one may never end.
        with open_regular(path) as (fd, info):
            size = info.st_size
            if size > limits.max_roster_bytes:
                mib = 1024 * 1024
                raise InputError(
                    f"La liste des agents « {path.name} » est trop volumineuse "
                    f"({size // mib} Mio ; maximum {limits.max_roster_bytes // mib} Mio).",
                    hint="Découpez la liste ou augmentez [limits] max_roster_bytes.",
                )
            with os.fdopen(os.dup(fd), "rb") as stream:
                # Read one byte past the cap: the file may have grown since stat().
                data = stream.read(limits.max_roster_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"Liste des agents introuvable : {path}.", hint=hint) from None
    except NotARegularFile as exc:
        raise InputError(
            f"La liste des agents « {path} » est refusée : {exc.strerror}.",
            hint="Donnez à --roster un fichier .xlsx ou .csv enregistré sur le disque.",
        ) from None
    except OSError as exc:
        raise InputError(
            f"Liste des agents illisible : {path} ({exc.strerror or exc}).",
            hint="Vérifiez les droits de lecture du fichier.",
        ) from None
    if len(data) > limits.max_roster_bytes:
        raise InputError(f"La liste des agents « {path.name} » est trop volumineuse.")
    return data


def _table(path: Path, data: bytes, sheet: str | None, limits: Limits) -> Table:
    """Dispatch on the content first (a renamed file is read for what it is), then the suffix."""
    suffix = path.suffix.lower()
    if suffix in _REFUSED_SUFFIXES:
        raise InputError(
            f"La liste des agents « {path.name} » est {_REFUSED_SUFFIXES[suffix]} : "
            "certsync lit seulement les formats .xlsx et .csv.",
            hint=SAVE_AS_HINT,
        )
    if data.startswith(_OLE_MAGIC):
        raise InputError(
            f"La liste des agents « {path.name} » est au format Excel 97-2003 (.xls) ou protégée "
            "par un mot de passe.",
            hint="Retirez le mot de passe, puis enregistrez-la au format .xlsx ou .csv.",
        )
    if data.startswith(_ZIP_MAGIC) or suffix == ".xlsx":
        return read_xlsx(data, path.name, sheet, limits)
    if sheet is not None:
        raise InputError(
            f"--sheet « {sheet} » ne s'applique qu'à un classeur .xlsx ; "
            f"« {path.name} » est un fichier CSV.",
            hint="Retirez l'option --sheet.",
        )
    return read_csv(data, path.name, _sniff_score, limits)


def find_header(rows: Sequence[Row]) -> tuple[int, ColumnMap] | None:
    """Position in rows of the row naming the most known columns, among the first non-empty ones."""
    best: tuple[int, ColumnMap] | None = None
    seen = 0
    for position, row in enumerate(rows):
        if not any(cell.strip() for cell in row.cells):
            continue
        columns = map_columns([clean_text(c) for c in row.cells])
        if columns.score and (best is None or columns.score > best[1].score):
            best = (position, columns)
        seen += 1
        if seen >= HEADER_SCAN:
            break
    return best


def _sniff_score(head: list[Row]) -> tuple[int, int]:
    """How well a separator splits the first records: header fields named, then its width."""
    found = find_header(head)
    if found is None:
        return (0, 0)
    position, columns = found
    return (columns.score, len(head[position].cells))


def roster_sirens(path: Path) -> tuple[str, ...]:
    """The roster's SIRENs (from SIREN or SIRET), in first-seen order (for `certsync check`)."""
    agents = read_roster(path).agents
    return tuple(dict.fromkeys(s for a in agents if (s := a.siren or a.siret[:9])))
