"""Errors that stop a run, each with its exit code and a French hint for the administrator."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README (sysexits.h values where one fits)."""

    OK = 0
    """Everything handled, no blocking finding."""
    FINDINGS = 1
    """The run finished; the report lists blocking findings."""
    USAGE = 2
    """Wrong command line."""
    INPUT = 66
    """Unreadable input: missing roster, no such folder, unusable roster."""
    PLATFORM_UNAVAILABLE = 69
    """Platform unreachable or circuit breaker open; what is left stays for the next run."""
    INTERNAL = 70
    """A bug: the traceback is in the log file."""
    STATE = 73
    """State file unusable (corrupt, locked by another program, newer version)."""
    LOCKED = 75
    """Another certsync run holds the lock."""
    PLATFORM_PROTOCOL = 76
    """The platform answered something unexpected."""
    PLATFORM_AUTH = 77
    """The platform refused the credentials."""
    CONFIG = 78
    """Bad configuration."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C or SIGINT (128 + 2, as a shell reports it)."""


class CertsyncError(Exception):
    """Root of every error that stops a run; carries an exit code and a French message."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        """What went wrong, in French, naming the file or setting."""
        self.hint = hint
        """What to do about it, in French."""

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class UsageError(CertsyncError):
    """The command line is wrong."""

    exit_code = ExitCode.USAGE


class Interrupted(CertsyncError):
    """The administrator stopped the command (Ctrl-C)."""

    exit_code = ExitCode.INTERRUPTED


class InputError(CertsyncError):
    """An input file or folder cannot be used."""

    exit_code = ExitCode.INPUT


class ConfigError(CertsyncError):
    """The configuration file or a setting is invalid."""

    exit_code = ExitCode.CONFIG


class StateError(CertsyncError):
    """The state file cannot be used."""

    exit_code = ExitCode.STATE


class LockedError(CertsyncError):
    """Another run holds the lock."""

    exit_code = ExitCode.LOCKED


class PlatformUnavailable(CertsyncError):
    """The platform cannot be reached or keeps failing."""

    exit_code = ExitCode.PLATFORM_UNAVAILABLE


class PlatformAuthError(CertsyncError):
    """The platform refused our credentials."""

    exit_code = ExitCode.PLATFORM_AUTH


class PlatformProtocolError(CertsyncError):
    """The platform answered something we do not understand."""

    exit_code = ExitCode.PLATFORM_PROTOCOL


class OutputError(CertsyncError):
    """A report, status or log file cannot be written (sysexits EX_CANTCREAT)."""

    exit_code = ExitCode.STATE
