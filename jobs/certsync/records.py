"""Typed records that flow between the pipeline's stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

from certsync.findings import Finding, any_blocking


class FileFormat(StrEnum):
    """What a certificate file turned out to be, found from its content."""

    PEM = "pem"
    PEM_UTF16 = "pem-utf16"
    DER = "der"
    BASE64 = "base64"
    PKCS7 = "pkcs7"
    PKCS12 = "pkcs12"
    PRIVATE_KEY = "private-key"
    UNKNOWN = "unknown"


class AgentStatus(StrEnum):
    """Outcome for one roster row."""

    WOULD_PUSH = "would_push"
    PUSHED = "pushed"
    UNCHANGED = "unchanged"
    BLOCKED = "blocked"
    NO_CERTIFICATE = "no_certificate"
    FAILED = "failed"
    NO_ACCOUNT = "no_account"
    """No account on the platform and no --create-missing: nothing was attempted."""


class FileStatus(StrEnum):
    """Outcome for one certificate file."""

    USED = "used"
    REJECTED = "rejected"
    ORPHAN = "orphan"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"
    HELD = "held"


@dataclass(frozen=True, slots=True)
class Agent:
    """One roster row, cleaned."""

    row: int
    """Row number as the administrator sees it in Excel or a text editor (1-based)."""
    email: str
    """E-mail as written in the roster, trimmed."""
    nom: str
    """Family name (may be empty when only a full-name column exists)."""
    prenom: str
    """Given name(s)."""
    full_name: str = ""
    """Full name when the roster has a single name column."""
    organisation: str = ""
    """Collectivité / organisme as written."""
    siren: str = ""
    """Nine-digit SIREN (derived from SIRET when only that is given), or empty."""
    siret: str = ""
    """Fourteen-digit SIRET, or empty."""
    login: str = ""
    """Login / identifiant, if the roster has one."""
    file_ref: str = ""
    """Content of the roster's file column, as written."""
    profil_id: str = ""
    """Socle agent-profile id, when the roster is the socle's own export."""

    @property
    def email_key(self) -> str:
        """E-mail as a matching key: case-folded."""
        return self.email.casefold()

    @property
    def display_name(self) -> str:
        """Name for messages."""
        name = f"{self.prenom} {self.nom}".strip()
        return name or self.full_name


@dataclass(frozen=True, slots=True)
class Roster:
    """The roster as read: agents in roster order, plus what was detected and found."""

    agents: tuple[Agent, ...]
    """Every data row that is not blank, in order, including flagged ones."""
    findings: tuple[Finding, ...]
    """Row findings."""
    source: str
    """Path of the roster file."""
    detected: dict[str, str] = field(default_factory=dict)
    """What was detected: format, encoding, separator, sheet, header row, column mapping."""


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What certsync knows about one parsed certificate; plain data, safe to pickle."""

    der: bytes
    """The certificate's DER encoding."""
    sha256: str
    """Lowercase hex SHA-256 of the DER."""
    sha1: str
    """Lowercase hex SHA-1 of the DER."""
    subject: str
    """RFC 4514 subject."""
    issuer: str
    """RFC 4514 issuer."""
    common_name: str
    """Subject CN (first), or empty."""
    organisation: str
    """Subject O, or empty."""
    org_ids: tuple[str, ...]
    """Digits of SIREN/SIRET found in OU (`0002 <SIRET>`) or organizationIdentifier."""
    emails: tuple[str, ...]
    """E-mails from SAN rfc822Name and subject emailAddress."""
    serial: str
    """Serial number in hex."""
    not_before: datetime
    """Start of validity (UTC)."""
    not_after: datetime
    """End of validity (UTC)."""
    key_type: str
    """`RSA`, `EC`, `Ed25519`, … ."""
    key_size: int
    """Key size in bits (curve size for EC)."""
    key_curve: str
    """Curve name for EC keys, else empty."""
    signature_hash: str
    """Hash of the issuer's signature (`sha256`, `sha1`, `md5`, …) or empty if none."""
    is_ca: bool
    """basicConstraints cA asserted."""
    self_issued: bool
    """Subject equals issuer."""
    key_usage: tuple[str, ...]
    """keyUsage bits asserted, by cryptography attribute name; empty if no extension."""
    has_key_usage: bool
    """Whether a keyUsage extension is present."""
    extended_key_usage: tuple[str, ...]
    """EKU OIDs (dotted)."""
    has_extended_key_usage: bool
    """Whether an EKU extension is present."""
    policies: tuple[str, ...]
    """Certificate policy OIDs (dotted)."""
    crl_urls: tuple[str, ...]
    """HTTP(S) CRL distribution points."""

    def __reduce__(self) -> tuple[Callable[..., CertInfo], tuple[Any, ...]]:
        # Every file's CertInfo crosses from a worker process to the main one: the fields as
        # one positional tuple pickle and unpickle at a third of the cost of the generic
        # dataclass state (a list built from fields() on every call).
        return shared_cert_info, _cert_info_values(self)


_cert_info_values = attrgetter(*(f.name for f in fields(CertInfo)))
_SHARED_FIELDS = frozenset(
    {
        "issuer",
        "organisation",
        "org_ids",
        "key_type",
        "key_curve",
        "signature_hash",
        "key_usage",
        "extended_key_usage",
        "policies",
        "crl_urls",
    }
)
_SHARED_POSITIONS = tuple(i for i, f in enumerate(fields(CertInfo)) if f.name in _SHARED_FIELDS)
#: One object per distinct value of the fields most certificates have in common.
_shared: dict[object, object] = {}


def shared_cert_info(*values: Any) -> CertInfo:
    """Rebuild a CertInfo, sharing the values that thousands of certificates repeat.

    At 100,000 certificates the issuer, organisation, usages and policies would otherwise be
    100,000 separate copies each (about 70 MB).
    """
    if len(_shared) > 100_000:
        _shared.clear()
    items = list(values)
    for i in _SHARED_POSITIONS:
        items[i] = _shared.setdefault(items[i], items[i])
    return CertInfo(*items)


@dataclass(frozen=True, slots=True)
class CertFile:
    """One file found under the certificate folder, after sniffing and parsing."""

    path: str
    """Path relative to the certificate folder, `/` separators."""
    size: int
    """File size in bytes."""
    mtime_ns: int
    """Modification time, for the state cache."""
    format: FileFormat
    """What the content turned out to be."""
    cert: CertInfo | None
    """The end-entity certificate used from this file, if any."""
    chain: tuple[CertInfo, ...] = ()
    """Other (CA) certificates found in the same file."""
    findings: tuple[Finding, ...] = ()
    """File-level findings (format, private key, …)."""

    @property
    def usable(self) -> bool:
        """A certificate was extracted and no file-level finding blocks it."""
        return self.cert is not None and not any_blocking(self.findings)


class Step(StrEnum):
    """What the plan says a run does (or did) for one roster row."""

    CREATE = "create"
    ADD = "add"
    """Put a first certificate on an account that has none."""
    REPLACE = "replace"
    UNCHANGED = "unchanged"
    NO_ACCOUNT = "no_account"
    NOT_READ = "not_read"
    """A dry run without --url: the account was not read."""
    UNREADABLE = "unreadable"
    """The account could not be read, or the platform refused to show it."""
    DISABLED = "disabled"
    """The platform lists the account as disabled: never written."""
    INCOMPLETE = "incomplete"
    """Not in an account listing that is not proven complete: never created."""
    UNSETTLED = "unsettled"
    """An earlier run's write to this account is not confirmed yet: nothing written."""
    NOT_SELECTED = "not_selected"
    """Outside --only/--limit: planned and reported, not written this time."""
    BLOCKED = "blocked"
    NO_CERTIFICATE = "no_certificate"
    OTHER = "other"
    """A decision of the push engine this view does not know (its reason says what)."""


@dataclass(frozen=True, slots=True)
class CertBrief:
    """A certificate as the plan shows it: name, end of validity, fingerprint."""

    name: str
    not_after: datetime | None
    sha256: str


@dataclass(frozen=True, slots=True)
class PlanStep:
    """The plan for one row, with what the account held when it was read."""

    step: Step
    current: CertBrief | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AgentResult:
    """What the run did for one roster row."""

    agent: Agent
    status: AgentStatus
    file: str | None = None
    """Certificate file chosen for the agent."""
    sha256: str | None = None
    """SHA-256 of the chosen certificate's DER."""
    method: str = ""
    """How the certificate was matched (French)."""
    not_after: datetime | None = None
    """End of validity of the chosen certificate."""
    findings: tuple[Finding, ...] = ()
    plan: PlanStep | None = None
    """What the push engine planned for this row after reading its account (None: not read)."""


@dataclass(frozen=True, slots=True)
class FileResult:
    """What the run did with one certificate file."""

    file: str
    status: FileStatus
    format: FileFormat
    sha256: str | None = None
    common_name: str = ""
    rows: tuple[int, ...] = ()
    """Roster rows the certificate was given to."""
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything a report needs about one run."""

    run_id: str
    as_of: datetime
    dry_run: bool
    agents: tuple[AgentResult, ...]
    files: tuple[FileResult, ...]
    parameters: dict[str, str]
    """Run parameters shown in the summary (French labels → values)."""
    notices: tuple[str, ...] = ()
    """Loud run-level notices for the summary (French)."""
    general: tuple[Finding, ...] = ()
    """Findings about neither a row nor a file (e.g. the decisions file)."""
    stop_code: int | None = None
    """Exit code of what stopped the pushes early (breaker open, credentials refused…)."""
    valid_until: datetime | None = None
    """Until when this result stays true if no input changes (next expiry or start date)."""

    @property
    def all_findings(self) -> list[Finding]:
        """Every finding in report order: general, rows, then files."""
        out = list(self.general)
        for a in self.agents:
            out.extend(a.findings)
        for f in self.files:
            out.extend(f.findings)
        return out

    @property
    def has_blocking(self) -> bool:
        """Whether any finding in the report is blocking."""
        return any_blocking(self.all_findings)
