"""Checks made before a run starts: every path it is given has a UTF-8 name."""

from __future__ import annotations

import os
from pathlib import Path

from certsync.errors import InputError, OutputError


def _not_utf8(path: Path) -> bool:
    # Command-line bytes that are not UTF-8 arrive as lone surrogates, which no report, log
    # line or SQLite text can hold.
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(path: Path) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def utf8_paths(inputs: dict[str, Path | None], outputs: dict[str, Path | None]) -> None:
    """Refuse, in French, a path whose name is not UTF-8 (an old Latin-1 folder name)."""
    for group, error in ((inputs, InputError), (outputs, OutputError)):
        for what, path in group.items():
            if path is not None and _not_utf8(path):
                raise error(
                    f"Le chemin {what} « {_shown(path)} » contient des caractères qui ne sont "
                    "pas en UTF-8 (nom venu d'un ancien système, en Latin-1).",
                    hint="Renommez le dossier ou le fichier (les accents seront alors en UTF-8) "
                    "puis relancez.",
                )
