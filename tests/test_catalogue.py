"""The finding catalogue stays complete, documented and exercised."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from certsync.docs import END, START, codes_table, render
from certsync.findings import CATALOGUE, Code, Finding, Severity

ROOT = Path(__file__).resolve().parent.parent


def test_every_code_has_a_complete_french_spec():
    assert set(CATALOGUE) == set(Code)
    for code, spec in CATALOGUE.items():
        assert spec.title and spec.message and spec.action, code
        assert isinstance(spec.severity, Severity)
        assert code.value == code.name


def test_templates_only_use_known_fields_and_render_without_params():
    for code, spec in CATALOGUE.items():
        for text in (spec.message, spec.action):
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f]
            assert all(re.fullmatch(r"[a-z_0-9]+", f) for f in fields), (code, fields)
        rendered = Finding(code).message()
        assert "{" not in rendered


def test_readme_codes_table_is_generated_from_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme
    assert render(readme) == readme, "run `make docs` to regenerate the README's table"
    for code in Code:
        assert f"`{code.value}`" in codes_table()


@pytest.mark.parametrize("code", list(Code), ids=lambda c: c.value)
def test_every_code_is_produced_by_some_test(code):
    """A code no test produces is a code nobody knows works."""
    sources = [
        p.read_text(encoding="utf-8")
        for p in (ROOT / "tests").rglob("test_*.py")
        if p.name != "test_catalogue.py"
    ]
    pattern = re.compile(rf"\b{code.value}\b")
    assert any(pattern.search(text) for text in sources), f"no test mentions {code.value}"
