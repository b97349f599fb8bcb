"""Shared fixtures: the test PKI and helpers to write certificate files."""

from __future__ import annotations

import pytest

from certsync.testkit.pki import SamplePKI, sample_pki


@pytest.fixture(scope="session")
def pki() -> SamplePKI:
    """The shared test PKI (ChamberSign-like and Certigna-like chains)."""
    return sample_pki()
