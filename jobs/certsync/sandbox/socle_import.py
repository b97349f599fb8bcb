"""The socle's CSV importer (`megalis-bretagne/myec3-socle`, `pages/organism/agent/export`),
kept importable under its first name: see `certsync.sandbox.socle.import_rules`,
`import_pages` and `import_lists`."""

from certsync.sandbox.socle.import_lists import ImportPages
from certsync.sandbox.socle.import_pages import ImportState, ReportPages
from certsync.sandbox.socle.import_rules import (
    CATALOGUE,
    HEADER_COLUMNS,
    HEADER_KEYS,
    MESSAGES,
    Refusal,
    equals_ignore_case,
    field_ok,
    java_regex,
    java_trim,
    properties_value,
    read_records,
    unaccent,
)

__all__ = [
    "CATALOGUE",
    "HEADER_COLUMNS",
    "HEADER_KEYS",
    "MESSAGES",
    "ImportPages",
    "ImportState",
    "Refusal",
    "ReportPages",
    "equals_ignore_case",
    "field_ok",
    "java_regex",
    "java_trim",
    "properties_value",
    "read_records",
    "unaccent",
]
