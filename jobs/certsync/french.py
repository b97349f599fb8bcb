"""Small French wording helpers shared by everything an administrator reads."""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """`n` with its noun agreed: 0 and 1 take the singular in French (« 0 certificat »,
    « 1 certificat », « 2 certificats »); `many` defaults to `one` + « s »."""
    return f"{n} {one if abs(n) < 2 else (many or one + 's')}"
