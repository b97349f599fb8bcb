"""Thin command-line front end (placeholder until the pipeline lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `certsync` console script."""
    return 0
