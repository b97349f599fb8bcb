"""A state file that silently lost its history (empty, or its WAL gone) is set aside, loudly."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import struct
from collections.abc import Callable
from pathlib import Path

from certsync.errors import StateError

#: Part of the name given to a damaged state file kept aside: `certsync.sqlite.damaged-…`.
DAMAGED = ".damaged-"

# The WAL index (-shm) starts with two copies of WalIndexHdr (48 bytes each) then the
# checkpoint info, whose first field is nBackfill (sqlite/src/wal.c, "WAL-INDEX FORMAT").
_HDR = struct.Struct("=IIIBBHI")  # iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame
_BACKFILL_OFFSET = 96
_WAL_HEADER = 32
_FRAME_HEADER = 24


def lost_wal(path: Path) -> bool:
    """True when the WAL index says committed frames exist that the WAL no longer holds."""
    try:
        index = Path(f"{path}-shm").read_bytes()[: _BACKFILL_OFFSET + 4]
    except OSError:
        return False
    if len(index) < _BACKFILL_OFFSET + 4:
        return False
    _version, _, _, is_init, _, page, frames = _HDR.unpack_from(index, 0)
    (backfilled,) = struct.unpack_from("=I", index, _BACKFILL_OFFSET)
    if not is_init or frames <= backfilled:
        return False
    page_size = 65536 if page == 1 else page
    try:
        wal_size = Path(f"{path}-wal").stat().st_size
    except OSError:
        wal_size = 0
    return wal_size < _WAL_HEADER + frames * (_FRAME_HEADER + page_size)


def set_aside(path: Path, now: dt.datetime | None = None) -> Path:
    """Rename the state file (and its -wal/-shm) with a timestamp; return the new name."""
    moment = now or dt.datetime.now(dt.UTC)
    aside = path.with_name(f"{path.name}{DAMAGED}{moment:%Y%m%d-%H%M%S}")
    for extra in ("", "-wal", "-shm"):
        source = Path(f"{path}{extra}")
        if source.exists():
            source.rename(Path(f"{aside}{extra}"))
    return aside


def damaged_error(path: Path, reason: str) -> StateError:
    """Set the file aside and say what happened, in French."""
    try:
        aside = set_aside(path)
        kept = f"Il a été mis de côté sous le nom {aside.name}."
    except OSError as exc:
        kept = f"Il n'a pas pu être mis de côté ({exc.strerror or exc})."
    return StateError(
        f"ATTENTION : le fichier d'état {path} a perdu son historique ({reason}). {kept}",
        hint="Restaurez le fichier d'état depuis une sauvegarde ; sinon relancez avec "
        "--new-state pour repartir d'un état vide (certsync relira alors les comptes sur la "
        "plateforme avant tout dépôt, mais l'historique et l'audit précédents sont perdus).",
    )


def check_before_open(path: Path, *, new_state: bool) -> None:
    """Refuse a state file that would silently start an empty history."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        kept = sorted(p.name for p in path.parent.glob(f"{path.name}{DAMAGED}*"))
        if kept and not new_state:
            raise StateError(
                f"Le fichier d'état {path} est absent, et un fichier d'état endommagé a été mis "
                f"de côté ({kept[-1]}).",
                hint="Restaurez le fichier d'état depuis une sauvegarde, ou relancez avec "
                "--new-state pour repartir volontairement d'un état vide.",
            ) from None
        return
    except OSError:
        return  # SQLite reports it, with the usual message
    if size == 0:
        raise damaged_error(path, "le fichier est vide, 0 octet")
    if lost_wal(path):
        raise damaged_error(path, "son journal d'écriture -wal a disparu")


def create_atomically(path: Path, build: Callable[[Path], None]) -> None:
    """Run `build(tmp_path)` on a new file, then give it the state's name (never half made).

    A state file created in place and interrupted before its schema is written would look
    like a damaged one at the next run.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    for extra in ("", "-wal", "-shm"):
        Path(f"{tmp}{extra}").unlink(missing_ok=True)
    try:
        build(tmp)
        # A link never replaces a state that another process created meanwhile.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        for extra in ("", "-wal", "-shm"):
            Path(f"{tmp}{extra}").unlink(missing_ok=True)
