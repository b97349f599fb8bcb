"""Fixtures for the certificate-file tests: the generated zoo."""

from __future__ import annotations

import pytest

from certsync.testkit.pki import SamplePKI
from tests.certfiles.zoo import Case, zoo


@pytest.fixture(scope="session")
def cases(pki: SamplePKI) -> dict[str, Case]:
    """The zoo of generated files, built once per session."""
    return zoo(pki)
