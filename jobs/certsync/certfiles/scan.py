"""List the certificate folder and read each file into a CertFile, never raising per file."""

from __future__ import annotations

import errno
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from certsync.certfiles.leaf import choose
from certsync.certfiles.parse import cert_info
from certsync.certfiles.sniff import sniff
from certsync.config import Limits
from certsync.errors import InputError
from certsync.findings import Code, finding
from certsync.french import plural
from certsync.records import CertFile, CertInfo, FileFormat

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry:
    """One file found under the certificate folder."""

    rel: str
    """Path relative to the folder, `/` separators."""
    abspath: str
    """Absolute path as listed (a symbolic link is not resolved)."""
    size: int
    """Size in bytes (of the link itself when it leads outside)."""
    mtime_ns: int
    """Modification time in nanoseconds."""
    outside: bool
    """A symbolic link whose target is outside the folder: it must not be read."""
    problem: str = ""
    """Why this entry (file or folder) cannot be read, in French; empty when it can."""

    @property
    def path(self) -> Path:
        """The absolute path as a Path (built on demand: 100,000 of them cost 0.3 s)."""
        return Path(self.abspath)


def _skipped(name: str) -> bool:
    """Hidden files and Office lock files (`~$Classeur.xlsx`) are never certificates."""
    return name.startswith((".", "~$"))


def _inside(target: Path, root: Path) -> bool:
    return target == root or target.is_relative_to(root)


def list_files(root: Path) -> list[Entry]:
    """Every candidate file under root, recursively, sorted by relative path.

    Entries that cannot be read (a name that is not UTF-8, a link loop, an unreadable folder,
    a path too long for the system) are listed with their `problem`: they are reported, and
    the other files are still handled.
    """
    real_root = root.resolve()
    entries: list[Entry] = []
    # A stack, not recursion: a folder nested a few thousand levels deep is still listed.
    folders: list[tuple[str, str]] = [(str(Path(root).absolute()), "")]
    while folders:
        folder, prefix = folders.pop()
        _scan(folder, real_root, prefix, entries, folders)
    entries.sort(key=lambda entry: entry.rel)
    return entries


def _display(name: str) -> tuple[str, str]:
    """The name as it can be shown and stored, and a French problem if it is not UTF-8.

    os.scandir decodes undecodable bytes as lone surrogates, which no report, log or SQLite
    text can hold: such a name is shown with its bytes escaped (`r\\xe9sum\\xe9.cer`).
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        return shown, (
            "nom illisible (caractères qui ne sont pas en UTF-8, souvent un nom venu d'un "
            "ancien système en Latin-1) ; renommez-le"
        )
    return name, ""


def _problem(entries: list[Entry], rel: str, path: str, problem: str) -> None:
    entries.append(Entry(rel, path, 0, 0, outside=False, problem=problem))


def _listing_problem(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "dossier illisible (accès refusé) ; son contenu n'a pas été lu"
    if exc.errno == errno.ENAMETOOLONG:
        return "chemin trop long pour le système ; son contenu n'a pas été lu"
    if exc.errno == errno.ELOOP:
        return "lien symbolique qui boucle sur lui-même"
    return f"dossier illisible ({exc.strerror or type(exc).__name__}) ; son contenu n'a pas été lu"


def _scan(
    folder: str,
    real_root: Path,
    prefix: str,
    entries: list[Entry],
    folders: list[tuple[str, str]],
) -> None:
    """List one folder: files go to `entries`, subfolders to `folders` (listed later)."""
    try:
        items = list(os.scandir(folder))
    except OSError as exc:
        if not prefix:
            raise InputError(
                f"Le dossier des certificats {folder} ne peut pas être lu "
                f"({_listing_problem(exc).split(' ;')[0]}).",
                hint="Vérifiez ses droits : l'utilisateur qui lance certsync doit pouvoir le lire.",
            ) from None
        log.warning("cannot list %s: %s", folder, exc)
        _problem(entries, prefix.rstrip("/"), folder, _listing_problem(exc))
        return
    for item in items:
        if _skipped(item.name):
            continue
        shown, bad_name = _display(item.name)
        rel = prefix + shown
        if bad_name:
            _problem(entries, rel, item.path, bad_name)
            continue
        try:
            _entry(item, rel, real_root, entries, folders)
        except (OSError, RuntimeError) as exc:
            # RuntimeError: Path.resolve() on a symlink loop (Python 3.11).
            if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
                _problem(
                    entries,
                    rel,
                    item.path,
                    "lien symbolique qui boucle (sur lui-même ou "
                    "par d'autres liens) ; il ne mène à aucun fichier",
                )
            elif exc.errno == errno.ENAMETOOLONG:
                _problem(entries, rel, item.path, "chemin trop long pour le système")
            else:
                _problem(entries, rel, item.path, _listing_problem(exc))


def _entry(
    item: os.DirEntry[str],
    rel: str,
    real_root: Path,
    entries: list[Entry],
    folders: list[tuple[str, str]],
) -> None:
    if item.is_symlink():
        path = Path(item.path)
        if not _inside(path.resolve(), real_root):
            info = item.stat(follow_symlinks=False)
            entries.append(Entry(rel, item.path, info.st_size, info.st_mtime_ns, True))
            return
        if item.is_dir():
            return  # Its content is listed under its real path; following risks loops.
    elif item.is_dir(follow_symlinks=False):
        # The directory entry's type says so: no stat call for folders.
        folders.append((item.path, rel + "/"))
        return
    try:
        info = item.stat()
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
            raise
        # A dangling link inside the folder: listed so that reading reports it.
        entries.append(Entry(rel, item.path, 0, 0, outside=False))
        return
    if stat.S_ISDIR(info.st_mode):
        folders.append((item.path, rel + "/"))
    elif stat.S_ISREG(info.st_mode):
        entries.append(Entry(rel, item.path, info.st_size, info.st_mtime_ns, outside=False))


def read_file(root: Path, rel: str, limits: Limits) -> CertFile:
    """Read, sniff and parse one file; every problem becomes a finding on the CertFile."""
    try:
        return _read(root, rel, limits)
    except Exception:  # One bad file must not stop the run; the log keeps the bug.
        log.exception("unexpected error reading %s", rel)
        return _refused(rel, 0, 0, Code.FILE_UNREADABLE, "erreur inattendue, voir le journal")


def _refused(rel: str, size: int, mtime_ns: int, code: Code, reason: str = "") -> CertFile:
    note = finding(code, file=rel, reason=reason) if reason else finding(code, file=rel)
    return CertFile(rel, size, mtime_ns, FileFormat.UNKNOWN, None, (), (note,))


def _read(root: Path, rel: str, limits: Limits) -> CertFile:
    path = root / rel
    try:
        info = os.lstat(path)
        # list_files never descends into linked folders, so only the last component or a
        # `..` in a hand-written rel can lead outside; resolving every path would cost more.
        if stat.S_ISLNK(info.st_mode) or ".." in rel.split("/"):
            if not _inside(path.resolve(), root.resolve()):
                return _refused(rel, info.st_size, info.st_mtime_ns, Code.FILE_OUTSIDE_FOLDER)
            info = path.stat()  # what the link leads to (lstat already is, for a plain file)
    except OSError as exc:
        return _refused(rel, 0, 0, Code.FILE_UNREADABLE, _os_reason(exc))
    size, mtime_ns = info.st_size, info.st_mtime_ns
    if not stat.S_ISREG(info.st_mode):
        return _refused(rel, size, mtime_ns, Code.FILE_UNREADABLE, "pas un fichier ordinaire")
    if size > limits.max_file_bytes:
        reason = (
            f"fichier trop volumineux ({_human(size)}, maximum {_human(limits.max_file_bytes)})"
        )
        return _refused(rel, size, mtime_ns, Code.FILE_UNREADABLE, reason)
    try:
        # One byte more than stat() said tells a file that grew meanwhile; sizing the read
        # from stat() avoids allocating a max_file_bytes buffer for every small file.
        data = _read_at_most(path, size + 1)
    except OSError as exc:
        return _refused(rel, size, mtime_ns, Code.FILE_UNREADABLE, _os_reason(exc))
    if len(data) > size:
        # Still being written (a copy in progress): reading half a file would mislead.
        reason = "fichier en cours de modification, relancez plus tard"
        return _refused(rel, size, mtime_ns, Code.FILE_UNREADABLE, reason)
    return _certfile(rel, size, mtime_ns, data)


def _read_at_most(path: Path, limit: int) -> bytes:
    """Up to `limit` bytes from the start of the file, fewer only at its end.

    Unbuffered: a buffered file object costs as much again as the reading itself here. The
    loop is what a buffered read does too: a network share may return less than asked.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, limit)
        while 0 < len(data) < limit:
            more = os.read(fd, limit - len(data))
            if not more:
                break
            data += more
        return data
    finally:
        os.close(fd)


def _certfile(rel: str, size: int, mtime_ns: int, data: bytes) -> CertFile:
    sniffed = sniff(data)
    if sniffed.private_key:
        note = finding(Code.FILE_PRIVATE_KEY, file=rel, kind=sniffed.private_key)
        return CertFile(rel, size, mtime_ns, sniffed.format, None, (), (note,))
    if sniffed.error is not None:
        code, reason = sniffed.error
        note = finding(code, file=rel, reason=reason)
        return CertFile(rel, size, mtime_ns, sniffed.format, None, (), (note,))
    infos: list[CertInfo] = []
    for index, der in enumerate(sniffed.ders, start=1):
        try:
            infos.append(cert_info(der))
        except ValueError as exc:
            reason = str(exc)
            if len(sniffed.ders) > 1:
                reason = f"certificat {index} sur {len(sniffed.ders)} : {reason}"
            note = finding(Code.FILE_NOT_A_CERTIFICATE, file=rel, reason=reason)
            return CertFile(rel, size, mtime_ns, sniffed.format, None, (), (note,))
    choice = choose(infos, rel)
    return CertFile(rel, size, mtime_ns, sniffed.format, choice.cert, choice.chain, choice.findings)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "accès refusé"
    if isinstance(exc, FileNotFoundError):
        return "fichier introuvable (supprimé ou lien cassé)"
    return f"erreur du système ({exc.strerror or type(exc).__name__})"


def _human(size: int) -> str:
    """A size as the administrator reads it: `3,2 Mio`, `512 Kio`, `900 octets`."""
    for unit, scale in (("Gio", 1 << 30), ("Mio", 1 << 20), ("Kio", 1 << 10)):
        if size >= scale:
            text = f"{size / scale:.1f}".replace(".", ",").removesuffix(",0")
            return f"{text} {unit}"
    return plural(size, "octet")
