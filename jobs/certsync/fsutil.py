"""Atomic file writes (temporary file, fsync, rename) and reading inputs that are plain files."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file 0600; a report is as readable as any file the user creates.
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        with tmp_path.open("rb+") as handle:
            os.fsync(handle.fileno())
        tmp_path.replace(path)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, write: Callable[[IO[str]], None], *, encoding: str) -> None:
    """Write text produced by `write(handle)` to `path` atomically."""
    with atomic_path(path) as tmp, tmp.open("w", encoding=encoding, newline="") as handle:
        write(handle)


_KINDS = (
    (stat.S_ISDIR, "un dossier"),
    (stat.S_ISFIFO, "un tube nommé (FIFO)"),
    (stat.S_ISSOCK, "une socket"),
    (stat.S_ISCHR, "un périphérique"),
    (stat.S_ISBLK, "un périphérique"),
)


class NotARegularFile(OSError):
    """An input path that is not a regular file: reading it could hang or never end."""

    def __init__(self, path: Path, mode: int) -> None:
        kind = next((label for test, label in _KINDS if test(mode)), "un fichier spécial")
        super().__init__(f"ce n'est pas un fichier ordinaire mais {kind}")
        self.strerror = str(self.args[0])
        self.filename = str(path)


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """Open an input file for reading, refusing anything but a regular file before any read.

    O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(path, info.st_mode)
        yield fd, info
    finally:
        os.close(fd)


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file (at most `limit`), or OSError (NotARegularFile) otherwise."""
    with open_regular(path) as (fd, _info):
        want = sys.maxsize if limit is None else limit
        chunks: list[bytes] = []
        got = 0
        while got < want:
            chunk = os.read(fd, min(want - got, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
