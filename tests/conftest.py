"""Shared fixtures: the test PKI and helpers to write certificate files."""

from __future__ import annotations

import pytest

from certsync.testkit.pki import SamplePKI, sample_pki


@pytest.fixture(autouse=True)
def _data_dir_in_tmp(tmp_path_factory, monkeypatch):
    """Default state, logs and reports go to a fresh home, never the developer's own."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("CERTSYNC_DATA_DIR", raising=False)
    return home


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
