"""Configuration: a TOML file merged with command-line options, validated into frozen records."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from certsync.errors import ConfigError
from certsync.fsutil import read_regular


@dataclass(frozen=True, slots=True)
class Policy:
    """Validation policy for certificates."""

    expires_soon_days: int = 30
    """Warn (CERT_EXPIRES_SOON) when a certificate expires within this many days."""
    org_mismatch_blocking: bool = False
    """Make CERT_ORG_MISMATCH blocking instead of a warning."""
    min_rsa_bits: int = 2048
    """Smallest accepted RSA modulus."""
    min_ec_bits: int = 256
    """Smallest accepted EC curve size."""
    require_client_auth: bool = True
    """Require clientAuth in the EKU when an EKU is present (S²LOW logs in by TLS client cert)."""
    allowed_policies: tuple[str, ...] = ()
    """Certificate policy OIDs accepted (empty: any)."""
    crl_files: tuple[Path, ...] = ()
    """Local CRL files (DER or PEM) to check revocation against."""
    crl_fetch: bool = False
    """Fetch CRLs from the certificates' distribution points."""
    skip_chain_check: bool = False
    """Allow pushing without a trust store (the administrator's explicit choice)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Guards on input sizes."""

    max_file_bytes: int = 1024 * 1024
    """Certificate files larger than this are refused without being read whole."""
    max_roster_bytes: int = 100 * 1024 * 1024
    """Roster files larger than this are refused."""
    max_xlsx_uncompressed_bytes: int = 200 * 1024 * 1024
    """Cap on the total uncompressed size of an xlsx roster (zip bomb guard)."""
    max_roster_rows: int = 300_000
    """Rows a roster may span (up to its last used row); beyond, it is refused unread."""
    max_roster_cells: int = 2_000_000
    """Cells a roster may span: rows × columns from A1 to the last used cell of a sheet, or
    fields of a CSV. Reading stays under 500 MB with these caps (see README, Performances)."""


#: The platforms certsync pushes to: the only names `[platform] name` and `--platform` accept.
PLATFORMS = ("socle", "s2low", "pastell")


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """Which platform to push to and how hard."""

    name: str = "socle"
    """`socle`, `s2low` or `pastell`."""
    url: str = ""
    """Base URL; empty means plan offline (dry run) or the embedded sandbox (demo)."""
    workers: int = 4
    """Concurrent pushes."""
    rate_per_second: float = 10.0
    """Request-rate cap across all workers."""
    timeout_seconds: float = 10.0
    """Read timeout per request."""
    connect_timeout_seconds: float = 5.0
    """Connect timeout per request."""
    request_deadline_seconds: float = 60.0
    """Total time one request may take, answer included (the timeouts above bound each wait
    only: a server sending one byte every few seconds never trips them); 0 for none."""
    run_deadline_minutes: float = 720.0
    """Once a run has talked to the platform this long, it sends nothing more (what is left
    stays for the next run, exit 69); 0 for none."""
    allow_insecure_http: bool = False
    """Allow a plain http:// URL to another machine (credentials in clear): tests only."""
    max_attempts: int = 5
    """Attempts per request, first included."""
    retry_after_cap_seconds: float = 120.0
    """A Retry-After longer than this leaves the item pending for the next run."""
    breaker_threshold: int = 5
    """Consecutive unavailability failures that stop the run."""
    client_cert: Path | None = None
    """Client certificate for mutual TLS (S²LOW)."""
    client_key: Path | None = None
    """Client key for mutual TLS (S²LOW)."""
    ca_bundle: Path | None = None
    """CA bundle to verify the platform's TLS certificate."""
    user_file: Path | None = None
    """File holding the login, if not in CERTSYNC_USER."""
    password_file: Path | None = None
    """File holding the password, if not in CERTSYNC_PASSWORD."""
    token_file: Path | None = None
    """File holding the API token, if not in CERTSYNC_TOKEN."""
    authority_id: str = ""
    """S²LOW authority id for created accounts."""
    entity_id: str = ""
    """Pastell id_e for created accounts; when set, the listing walks only this entity and its
    descendants (else every entity the account reads)."""
    organisations: tuple[str, ...] = ()
    """Socle organism ids to list and write, instead of discovering them after login."""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where reminder e-mails go out."""

    host: str = ""
    port: int = 587
    starttls: bool = True
    sender: str = ""
    reply_to: str = ""
    send_to_address: str = ""
    """Where agents send their new certificate (shown in the reminder)."""


def default_data_dir() -> Path:
    """The folder of state, logs and reports when the configuration names none.

    `CERTSYNC_DATA_DIR` (the service unit sets /var/lib/certsync), else the user's data folder
    (`$XDG_DATA_HOME/certsync`, by default ~/.local/share/certsync): never the current folder,
    so that a run started from elsewhere finds the same state and history.
    """
    env = os.environ.get("CERTSYNC_DATA_DIR", "")
    if env:
        return Path(env).expanduser().absolute()
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "certsync"


#: Files of the data folder, by configuration key.
DATA_FILES = {"state": "certsync.sqlite", "log_file": "certsync.log", "status_file": "status.json"}


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """The summary e-mail sent to the administrator after each run (through [smtp])."""

    email_to: str = ""
    """Recipients, separated by commas; empty: no summary e-mail."""
    email_always: bool = False
    """Send it even when nothing is new since the last run."""
    attach_max_bytes: int = 5_000_000
    """exceptions.xlsx is attached when it is no larger than this."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run needs besides its inputs."""

    trust: Path | None = None
    """PEM bundle: self-signed certificates are anchors, others intermediates."""
    decisions: Path | None = None
    """Decisions CSV: SHA-256 → e-mail or `ignorer`."""
    data_dir: Path = field(default_factory=default_data_dir)
    """Folder of the state, log, status file and reports unless they are named one by one."""
    state: Path = field(default_factory=lambda: default_data_dir() / DATA_FILES["state"])
    """SQLite state file."""
    report_dir: Path | None = None
    """Where reports go; default <data_dir>/rapports/<date>-<time>/."""
    log_file: Path = field(default_factory=lambda: default_data_dir() / DATA_FILES["log_file"])
    """Developer log (JSON lines), and tracebacks of internal errors."""
    status_file: Path = field(
        default_factory=lambda: default_data_dir() / DATA_FILES["status_file"]
    )
    """Last run's summary for monitoring."""
    keep_days: int = 90
    """Report folders under <data_dir>/rapports and rotated logs older than this are deleted
    (0: keep everything)."""
    read_workers: int = 0
    """Processes for reading and validating files (0: one per core)."""
    policy: Policy = field(default_factory=Policy)
    limits: Limits = field(default_factory=Limits)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


_PATH_FIELDS = {
    "data_dir",
    "trust",
    "decisions",
    "state",
    "report_dir",
    "log_file",
    "status_file",
    "client_cert",
    "client_key",
    "ca_bundle",
    "user_file",
    "password_file",
    "token_file",
}


def _coerce(section: str, key: str, value: Any, default: Any, base: Path) -> Any:
    where = f"[{section}] {key}" if section else key
    if key in _PATH_FIELDS:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"Configuration : « {where} » doit être un chemin de fichier.")
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path
    if key == "crl_files":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"Configuration : « {where} » doit être une liste de chemins.")
        return tuple((base / Path(v)) if not Path(v).is_absolute() else Path(v) for v in value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"Configuration : « {where} » doit être une liste de textes.")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"Configuration : « {where} » doit valoir true ou false.")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"Configuration : « {where} » doit être un entier positif.")
        return value
    if isinstance(default, float):
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"Configuration : « {where} » doit être un nombre positif.")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"Configuration : « {where} » doit être un texte.")
    return value


_SECTIONS = {"policy", "limits", "platform", "smtp", "report"}


def _section(cls: type, data: Mapping[str, Any], section: str, base: Path) -> Any:
    instance = cls()
    known = {f.name: f for f in fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known or key in _SECTIONS:
            names = ", ".join(sorted(k for k in known if k not in _SECTIONS))
            where = f"[{section}]" if section else "la racine"
            raise ConfigError(
                f"Configuration : clé inconnue « {key} » dans {where}.",
                hint=f"Clés acceptées : {names}.",
            )
        changes[key] = _coerce(section, key, value, getattr(instance, key), base)
    return replace(instance, **changes)


def load_config(path: Path | None) -> Config:
    """Read and validate a TOML configuration file; None gives the defaults."""
    if path is None:
        return Config()
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise ConfigError(
            f"Fichier de configuration illisible : {path} ({exc.strerror or exc}).",
            hint="Vérifiez le chemin donné à --config.",
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Fichier de configuration invalide : {path} ({exc}).",
            hint="Le fichier doit être au format TOML, encodé en UTF-8 ; voir "
            "config/certsync.example.toml.",
        ) from exc
    base = path.parent
    sections = {
        "policy": Policy,
        "limits": Limits,
        "platform": PlatformConfig,
        "smtp": SmtpConfig,
        "report": ReportConfig,
    }
    top = {k: v for k, v in data.items() if k not in sections}
    config = _section(Config, top, "", base)
    # Files not named one by one follow the configured data folder.
    config = replace(
        config,
        **{key: config.data_dir / name for key, name in DATA_FILES.items() if key not in top},
    )
    nested: dict[str, Any] = {}
    for name, cls in sections.items():
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"Configuration : « {name} » doit être une section [{name}].")
        nested[name] = _section(cls, value, name, base)
    config = replace(config, **nested)
    if config.platform.name not in PLATFORMS:
        raise ConfigError(
            f"Configuration : plateforme inconnue « {config.platform.name} ».",
            hint=f"Valeurs acceptées : {', '.join(PLATFORMS)}.",
        )
    if config.platform.workers < 1:
        raise ConfigError("Configuration : [platform] workers doit valoir au moins 1.")
    if config.platform.url:
        from certsync.urls import check_url

        check_url(config.platform.url, where="[platform] url", from_config=True)
    return config


def reports_root(config: Config) -> Path:
    """Where each run's report folder goes by default (and where old ones are pruned)."""
    return config.data_dir / "rapports"
