"""Checks made before a run starts: every file it will write can be written."""

from __future__ import annotations

import os
from pathlib import Path

from certsync.errors import OutputError


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def writable_folder(folder: Path, what: str, setting: str) -> None:
    """Refuse, in French, a folder that is not one or that cannot be created or written."""
    folder = folder.absolute()
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        problem = f"{existing} n'est pas un dossier"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"l'utilisateur qui lance certsync ne peut pas écrire dans {existing}"
    else:
        return
    raise OutputError(
        f"{what} ne peut pas être écrit dans {folder} : {problem}.",
        hint=f"Vérifiez {setting} et les droits sur ce dossier ; rien n'a été fait.",
    )
