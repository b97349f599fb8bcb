"""Generators of realistic test data (PKI, rosters) for tests, samples, the demo and the bench."""
