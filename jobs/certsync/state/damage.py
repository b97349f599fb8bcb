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


def lost_wal(path: Path) -> bool:
    """True when the WAL index says committed frames exist and the WAL file is gone.

    Only a missing WAL counts: a WAL shorter than the index says (a power cut with
    synchronous=NORMAL) is SQLite's own recovery to make, and loses only the last commits.
    The index is trusted only if its two header copies agree, as SQLite requires.
    """
    if Path(f"{path}-wal").exists():
        return False
    try:
        index = Path(f"{path}-shm").read_bytes()[: _BACKFILL_OFFSET + 4]
    except OSError:
        return False
    if len(index) < _BACKFILL_OFFSET + 4 or index[:48] != index[48:96]:
        return False
    _version, _, _, is_init, _, _page, frames = _HDR.unpack_from(index, 0)
    (backfilled,) = struct.unpack_from("=I", index, _BACKFILL_OFFSET)
    return bool(is_init) and frames > backfilled


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
