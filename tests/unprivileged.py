"""Run a function as an unprivileged user: tests of refused access mean nothing as root."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import os
import pickle
import pkgutil
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

NOBODY = 65534


def world_dir(tmp_path: Path) -> Path:
    """A folder the unprivileged user can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="certsync-nobody-", dir="/tmp"))
    base.chmod(0o777)
    atexit.register(shutil.rmtree, base, True)
    (tmp_path / "nobody-dir").write_text(str(base))  # for the curious reader of a failure
    return base


def _import_everything() -> None:
    """Import every certsync module now: the child may not read the interpreter's files."""
    import certsync

    for name in ("encodings.utf_8_sig", "encodings.cp1252", "encodings.latin_1", "encodings.idna"):
        importlib.import_module(name)
    for module in pkgutil.walk_packages(certsync.__path__, "certsync."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def as_nobody(function: Callable[..., Any], *args: Any) -> tuple[Any, str]:
    """Call `function(*args)` in a forked child without root rights; its result and stderr.

    A fork rather than a new interpreter: the interpreter's files are under /root, which the
    unprivileged user cannot read, and everything needed is already imported here.
    """
    _import_everything()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read)
        err = io.StringIO()
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            with contextlib.redirect_stderr(err):
                result: Any = function(*args)
        except BaseException as exc:
            result = f"raised {exc!r}"
        with os.fdopen(write, "wb") as out:
            pickle.dump((result, err.getvalue()), out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    value: tuple[Any, str] = pickle.loads(data)
    return value
