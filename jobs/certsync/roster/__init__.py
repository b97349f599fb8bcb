"""The roster stage: read the administrator's CSV or XLSX list of agents into typed records."""

from certsync.roster.paths import resolve_file_ref
from certsync.roster.reader import read_roster, roster_sirens

__all__ = ["read_roster", "resolve_file_ref", "roster_sirens"]
