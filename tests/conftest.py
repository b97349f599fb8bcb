"""Shared fixtures: the test PKI and helpers to write certificate files."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from certsync.testkit.pki import SamplePKI, sample_pki

# Every finding code the suite produces is recorded; one never produced fails a full run.
pytest_plugins = ["tests.produced_codes"]


@pytest.fixture(autouse=True)
def _data_dir_in_tmp(tmp_path_factory, monkeypatch):
    """Default state, logs and reports go to a fresh home, never the developer's own."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("CERTSYNC_DATA_DIR", raising=False)
    return home


@pytest.fixture(autouse=True)
def _logging_as_before() -> Iterator[None]:
    """A command run in this process configures logging; the next test starts as before.

    `configure_logging` stops the certsync logger propagating and disables loggers that
    existed, so a later test's caplog would see nothing, depending on the order tests run in.
    """
    yield
    root = logging.getLogger("certsync")
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    root.propagate = True
    root.setLevel(logging.NOTSET)
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and name.startswith("certsync"):
            logger.disabled = False


@pytest.fixture(scope="session")
def pki() -> SamplePKI:
    """The shared test PKI (ChamberSign-like and Certigna-like chains)."""
    return sample_pki()


@pytest.fixture(autouse=True)
def _no_secret_outlives_its_test():
    """Credentials registered for masking by one test must not mask another test's logs."""
    from certsync import logs

    yield
    logs._extra_secrets.clear()
