"""The finding catalogue stays complete, documented and exercised."""

from __future__ import annotations

import pickle
import re
import string
from pathlib import Path

from certsync.docs import END, START, codes_table, render
from certsync.findings import CATALOGUE, Code, Finding, Severity
from tests.record.sitecustomize import install, unrecorded

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
        with unrecorded():  # rendering every code is not producing it
            rendered = Finding(code).message()
        assert "{" not in rendered


def test_readme_codes_table_is_generated_from_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme
    assert render(readme) == readme, "run `make docs` to regenerate the README's table"
    for code in Code:
        assert f"`{code.value}`" in codes_table()


def test_the_suite_records_the_codes_of_findings_built_or_received() -> None:
    """tests/produced_codes.py fails a full run when a code was never produced; it must see them."""
    produced = install()
    before = set(produced)
    code = next(iter(Code))
    try:
        produced.clear()
        with unrecorded():
            Finding(code)
        assert not produced
        finding = Finding(code, row=2)
        assert produced == {code.value}
        produced.clear()
        assert pickle.loads(pickle.dumps(finding)) == finding
        assert produced == {code.value}
    finally:  # what this test built is not produced by the suite
        produced.clear()
        produced.update(before)
