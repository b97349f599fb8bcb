"""The file cache's codec: a read file's outcome as bytes, decoded only into known records.

pickle, because it is an order of magnitude cheaper than JSON for 100,000 records; restricted
to certsync's own records and a few standard types, because the bytes come from a file.
"""

from __future__ import annotations

import io
import pickle

from certsync.records import CertFile

#: The only globals a cached outcome may name.
_ALLOWED = {
    ("certsync.records", "CertFile"),
    ("certsync.records", "CertInfo"),
    ("certsync.records", "shared_cert_info"),
    ("certsync.records", "FileFormat"),
    ("certsync.findings", "Finding"),
    ("certsync.findings", "Code"),
    ("datetime", "datetime"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
    ("copyreg", "_reconstructor"),
    ("copyreg", "__newobj__"),
    ("builtins", "object"),
    ("builtins", "frozenset"),
    ("builtins", "getattr"),
}


class CacheDecodeError(ValueError):
    """A cached outcome that cannot be used (older layout, damaged, or unexpected content)."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED:
            raise CacheDecodeError(f"unexpected global {module}.{name} in the file cache")
        return super().find_class(module, name)


def encode_certfile(cf: CertFile) -> bytes:
    """The cache's form of a read file (pure: the worker processes call it)."""
    return pickle.dumps(cf, protocol=5)


def decode_certfile(data: bytes) -> CertFile:
    """A read file back from the cache, or CacheDecodeError."""
    try:
        value = _Unpickler(io.BytesIO(data)).load()
    except CacheDecodeError:
        raise
    except Exception as exc:  # any damage: the file is simply read again
        raise CacheDecodeError(str(exc)) from exc
    if not isinstance(value, CertFile):
        raise CacheDecodeError(f"unexpected {type(value).__name__} in the file cache")
    return value
