"""Generators of realistic test data (PKI, rosters) shared by tests, samples, the demo and the bench."""
