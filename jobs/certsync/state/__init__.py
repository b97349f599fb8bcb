"""The state file: what certsync did, so that nightly runs are incremental, safe and auditable."""

from certsync.state.filecache import FileCache
from certsync.state.models import (
    AccountRecord,
    Action,
    AuditEntry,
    InFlight,
    RunSummary,
    StoredCert,
    StoredDecision,
    clean_parameters,
)
from certsync.state.schema import (
    APPLICATION_ID,
    FILE_CACHE_CODEC,
    MIGRATIONS,
    SCHEMA_VERSION,
    _state_error,
    cache_path,
)
from certsync.state.store import StateStore, history

__all__ = [
    "APPLICATION_ID",
    "FILE_CACHE_CODEC",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AccountRecord",
    "Action",
    "AuditEntry",
    "FileCache",
    "InFlight",
    "RunSummary",
    "StateStore",
    "StoredCert",
    "StoredDecision",
    "_state_error",
    "cache_path",
    "clean_parameters",
    "history",
]
