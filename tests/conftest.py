"""Shared fixtures: the test PKI and helpers to write certificate files."""

from __future__ import annotations

import pytest

from certsync.testkit.pki import TestPKI, test_pki


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    """The shared test PKI (ChamberSign-like and Certigna-like chains)."""
    return test_pki()
