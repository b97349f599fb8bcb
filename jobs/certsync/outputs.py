"""Before a command reads or writes the platform, every folder and file it will write is
checked, and created: a report that cannot be written is refused up front, not after the pushes."""

from __future__ import annotations

import errno
import getpass
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from certsync.errors import OutputError

_REASONS = {
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.ENOTDIR: "un élément du chemin est un fichier, pas un dossier",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota disque dépassé",
    errno.EEXIST: "un fichier porte déjà ce nom",
    errno.ELOOP: "lien symbolique refusé",
    errno.ENAMETOOLONG: "chemin trop long",
}


def reason(exc: OSError) -> str:
    """What went wrong with a file, in French."""
    return _REASONS.get(exc.errno or 0, exc.strerror or str(exc))


@dataclass(slots=True)
class Outputs:
    """What a command will write; `created` lists the folders this check had to create."""

    state: Path
    log_file: Path
    status_file: Path | None = None
    report_dir: Path | None = None
    created: list[Path] = field(default_factory=list)
    """Report folders this check created, parents first."""

    def check(self) -> Outputs:
        """Create and probe every folder and file, or raise OutputError (exit 73)."""
        self._file(self.state, "d'état", "--state (ou state)")
        self._file(self.log_file, "journal", "log_file")
        if self.status_file is not None:
            self._file(self.status_file, "de supervision", "status_file")
        if self.report_dir is not None:
            option = "--report-dir (ou report_dir)"
            self.created = self._folder(self.report_dir, "du rapport", option)
        return self

    def forget_empty_report(self) -> None:
        """Remove the folders this check created if nothing was written in them."""
        for folder in reversed(self.created):
            try:
                folder.rmdir()
            except OSError:
                return

    def _folder(self, folder: Path, what: str, option: str) -> list[Path]:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _error(
                f"Impossible de créer le dossier {what} {folder} ({reason(exc)}).", option
            ) from None
        try:
            fd, probe = tempfile.mkstemp(prefix=".certsync-", dir=folder)
            os.close(fd)
            Path(probe).unlink()
        except OSError as exc:
            raise _error(
                f"Le dossier {what} {folder} n'est pas accessible en écriture ({reason(exc)}).",
                option,
            ) from None
        return list(reversed(missing))

    def _file(self, path: Path, what: str, option: str) -> None:
        label = f"Le fichier {what} {path}"
        if path.is_dir():
            raise _error(f"{label} est un dossier.", option)
        self._folder(path.parent, f"du fichier {what}", option)
        if not path.exists():
            return
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
            os.close(fd)
        except OSError as exc:
            raise _error(
                f"{label} n'est pas accessible en écriture ({reason(exc)}).", option
            ) from None


def _error(message: str, option: str) -> OutputError:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return OutputError(
        message + " Rien n'a été lu ni écrit sur la plateforme.",
        hint=f"Choisissez un autre emplacement ({option}) ou donnez le droit d'écriture à "
        f"l'utilisateur « {user} », puis relancez.",
    )
