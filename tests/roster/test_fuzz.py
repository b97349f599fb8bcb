"""Property tests: the CSV reader only ever returns a Roster or raises InputError."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certsync.errors import InputError
from certsync.records import Roster
from certsync.roster import read_roster
from certsync.roster.clean import clean_org_number, clean_text, email_problem
from certsync.roster.columns import header_key

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_cells = st.text(
    alphabet=st.sampled_from(list("aZé œ@.;,\t\"'\n\r0123456789E+-\u00a0\u200b\ufeff"))
)
_header = st.sampled_from(["Nom;Prénom;Courriel;SIREN;Fichier\n", "Nom,Prénom,E-mail,SIRET\n", ""])


def _read(tmp: Path, data: bytes) -> Roster | None:
    path = tmp / "fuzz.csv"
    path.write_bytes(data)
    try:
        return read_roster(path, certs_root=tmp)
    except InputError:
        return None


@FUZZ
@given(data=st.binary(max_size=400))
def test_any_bytes(tmp_path_factory, data):
    _read(tmp_path_factory.mktemp("f"), data)


@FUZZ
@given(header=_header, body=_cells, encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_csv_like_text(tmp_path_factory, header, body, encoding):
    text = header + body
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    roster = _read(tmp_path_factory.mktemp("f"), data)
    if roster is not None:
        rows = [a.row for a in roster.agents]
        assert rows == sorted(set(rows))
        assert all(f.row in rows for f in roster.findings)


@given(st.text())
def test_clean_text_idempotent_and_clean(value):
    cleaned = clean_text(value)
    assert clean_text(cleaned) == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
    assert cleaned == cleaned.strip()
    assert not any(c in cleaned for c in "\u200b\u200c\u200d\u2060\ufeff\u00a0\u202f\n\r\t")


@given(st.text(max_size=30))
def test_clean_org_number_total(value):
    check = clean_org_number(value)
    if check.digits:
        assert check.digits.isdigit() and len(check.digits) in (9, 14)
        assert not check.problem


@given(st.integers(min_value=0, max_value=10**14 - 1))
def test_clean_org_number_numeric_values(number):
    check = clean_org_number(str(number))
    assert bool(check.digits) != bool(check.problem)


@given(st.text(max_size=80))
def test_email_problem_total(value):
    problem = email_problem(clean_text(value))
    assert problem is None or isinstance(problem, str)


@given(st.text(max_size=40))
def test_header_key_is_plain(value):
    key = header_key(value)
    assert key == "" or (key.isascii() and key.isalnum() and key == key.lower())
