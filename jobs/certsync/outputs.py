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
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota disque dépassé",
    errno.EEXIST: "ce chemin existe et n'est pas un dossier",
    errno.ELOOP: "lien symbolique refusé",
    errno.ENAMETOOLONG: "chemin trop long",
}
_DENIED = (errno.EACCES, errno.EPERM)


def reason(exc: OSError) -> str:
    """What went wrong with a file, in French."""
    return _REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@dataclass(slots=True)
class Outputs:
    """What a command will write; `created` lists the report folders this check created."""

    state: Path
    log_file: Path
    status_file: Path | None = None
    report_dir: Path | None = None
    created: list[Path] = field(default_factory=list)
    """Report folders this check created, parents first."""

    def check(self) -> Outputs:
        """Create and probe every folder and file, or raise OutputError (exit 73)."""
        # The state may be reached through a link (the lock follows the file's identity).
        self._file(self.state, "fichier d'état (et son verrou)", "--state (ou state)", True)
        # The log is never opened through a link (a planted one would truncate its target).
        self._file(self.log_file, "journal", "log_file", False)
        if self.status_file is not None:
            # Replaced by rename: only its folder must be writable.
            self._folder(self.status_file.parent, "du fichier de supervision", "status_file")
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
            if exc.errno in _DENIED:
                where = _nearest_existing(folder)
                problem = f"l'utilisateur « {_user()} » ne peut pas écrire dans {where}"
            else:
                problem = reason(exc)
            raise _error(
                f"Impossible de créer le dossier {what} {folder} : {problem}.", option
            ) from None
        try:
            fd, probe = tempfile.mkstemp(prefix=".certsync-", dir=folder)
            os.close(fd)
            Path(probe).unlink()
        except OSError as exc:
            problem = (
                f"l'utilisateur « {_user()} » ne peut pas écrire dans {folder}"
                if exc.errno in _DENIED
                else reason(exc)
            )
            raise _error(
                f"Le dossier {what} {folder} n'est pas accessible en écriture : {problem}.", option
            ) from None
        return list(reversed(missing))

    def _file(self, path: Path, what: str, option: str, follow: bool) -> None:
        label = f"Le {what} {path}"
        if path.is_dir():
            raise _error(f"{label} est un dossier.", option)
        self._folder(path.parent, f"du {what}", option)
        if not os.path.lexists(path):
            return
        flags = os.O_WRONLY | os.O_APPEND | (0 if follow else os.O_NOFOLLOW)
        try:
            fd = os.open(path, flags)
            os.close(fd)
        except OSError as exc:
            problem = (
                f"l'utilisateur « {_user()} » ne peut pas y écrire"
                if exc.errno in _DENIED
                else reason(exc)
            )
            raise _error(f"{label} n'est pas accessible en écriture : {problem}.", option) from None


def _error(message: str, option: str) -> OutputError:
    return OutputError(
        message + " Rien n'a été lu ni écrit sur la plateforme.",
        hint=f"Choisissez un autre emplacement ({option}) ou donnez le droit d'écriture à "
        f"l'utilisateur « {_user()} », puis relancez.",
    )
