"""Resolving the roster's file column inside the certificate folder, and never outside it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from certsync.roster.clean import clean_text

# A Windows drive ("C:\…", "C:") or UNC/absolute path ("\\serveur", "/etc") is never inside.
_ABSOLUTE = re.compile(r"[A-Za-z]:(?:/|\Z)|/")

ESCAPES = " (le chemin sort du dossier)"
"""Reason shown when a reference points outside the certificate folder."""
AMBIGUOUS = " (plusieurs fichiers portent ce nom)"
"""Reason shown when a bare file name matches several files in sub-folders."""


@dataclass(slots=True)
class FileIndex:
    """Resolves file references under one folder; indexes the files by name once, on demand."""

    root: Path
    """The certificate folder."""
    _real_root: Path | None = None
    _by_name: dict[str, list[str]] | None = field(default=None, repr=False)
    _by_folded: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def resolve(self, ref: str) -> tuple[str | None, str]:
        """(relative posix path, "") when found; (None, French reason suffix) otherwise."""
        text = clean_text(ref).replace("\\", "/")
        if not text:
            return None, ""
        if _ABSOLUTE.match(text):
            return None, ESCAPES
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if ".." in parts:
            return None, ESCAPES
        if not parts:
            return None, ""
        relative = "/".join(parts)
        where = self._inside(relative)
        if where is not None:
            return where
        if len(parts) > 1:
            return None, ""
        # Exact name first; a case-insensitive match helps rosters typed on Windows.
        matches = self._names().get(parts[0]) or self._by_folded.get(parts[0].casefold(), [])
        if len(matches) > 1:
            return None, AMBIGUOUS
        if matches:
            return matches[0], ""
        return None, ""

    def _real(self) -> Path:
        if self._real_root is None:
            self._real_root = self.root.resolve()
        return self._real_root

    def _inside(self, relative: str) -> tuple[str | None, str] | None:
        """The answer for a path that exists, or None when nothing usable is there."""
        candidate = self.root / relative
        try:
            real = candidate.resolve()
            if not real.is_relative_to(self._real()):
                # A symlink inside the folder that leads elsewhere: refused even if the target
                # exists, and reported as leaving the folder.
                return (None, ESCAPES) if candidate.is_symlink() or real.exists() else None
            if real.is_file():
                return relative, ""
        except (OSError, ValueError, RuntimeError):
            # Name too long, NUL byte, symlink loop, permission: nothing usable there.
            return None
        return None

    def _names(self) -> dict[str, list[str]]:
        """Files under the folder by exact name and by case-folded name (symlinks not followed)."""
        if self._by_name is None:
            self._by_name = {}
            root = self.root
            for dirpath, _dirs, files in os.walk(root):
                for name in files:
                    relative = Path(dirpath, name).relative_to(root).as_posix()
                    if self._inside(relative) != (relative, ""):
                        continue
                    self._by_name.setdefault(name, []).append(relative)
                    self._by_folded.setdefault(name.casefold(), []).append(relative)
            for paths in [*self._by_name.values(), *self._by_folded.values()]:
                paths.sort()
        return self._by_name


def resolve_file_ref(certs_root: Path, ref: str) -> str | None:
    """The roster's file reference as a relative posix path inside certs_root, or None."""
    return FileIndex(certs_root).resolve(ref)[0]
