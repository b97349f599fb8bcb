"""Tests for the expiring-certificates list and its xlsx, CSV and JSON reports."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from certsync.renewal import (
    NO_ORGANISATION,
    ExpiringEntry,
    PlatformCertificate,
    escape_cell,
    expiring,
    sheet_names,
    write_expiring,
)
from certsync.state import StateStore, StoredCert
from certsync.testkit.pki import SamplePKI, agent_subject, make_leaf

AS_OF = date(2026, 11, 27)
NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _push(
    store: StateStore, pki: SamplePKI, email: str, days: int, org: str, nom: str
) -> StoredCert:
    issued = make_leaf(
        pki.chambersign_ca,
        agent_subject("Anne", nom, org=org),
        not_before=NOON - timedelta(days=900),
        not_after=NOON + timedelta(days=days),
    )
    cert = StoredCert.from_der(issued.der)
    store.record_write(
        run_id="r1",
        platform="socle",
        account_id=email,
        email=email,
        cert=cert,
        old_der=None,
        at=NOON,
        prenom="Anne",
        nom=nom,
        organisation=org,
    )
    return cert


@pytest.fixture
def store(tmp_path: Path, pki: SamplePKI):
    with StateStore.open(tmp_path / "state.sqlite") as opened:
        _push(opened, pki, "Anne.Le-Bihan@Plouha.fr", 10, "Commune de Plouha", "LE BIHAN")
        _push(opened, pki, "anne.morvan@plouha.fr", -5, "Commune de Plouha", "MORVAN")
        _push(opened, pki, "anne.tanguy@lannion.fr", 60, "Lannion-Trégor Communauté", "TANGUY")
        _push(opened, pki, "anne.guillou@lannion.fr", 200, "Lannion-Trégor Communauté", "GUILLOU")
        _push(opened, pki, "anne.rio@x.fr", 30, "", "RIO")
        yield opened


def test_expiring_from_state_grouped_with_days_left(store: StateStore) -> None:
    entries = expiring(store, 30, AS_OF)
    assert [(e.organisation, e.nom, e.days_left, e.expired) for e in entries] == [
        ("Commune de Plouha", "MORVAN", -5, True),
        ("Commune de Plouha", "LE BIHAN", 10, False),
        (NO_ORGANISATION, "RIO", 30, False),
    ]
    assert entries[1].email == "Anne.Le-Bihan@Plouha.fr"
    assert entries[1].common_name == "Anne LE BIHAN"
    assert {e.source for e in entries} == {"state"}
    assert [e.nom for e in expiring(store, 60, AS_OF)][-2:] == ["TANGUY", "RIO"]


def test_platform_records_override_and_extend_state(store: StateStore) -> None:
    platform = [
        # Renewed by hand on the platform since certsync's push: no longer expiring.
        PlatformCertificate("ANNE.MORVAN@plouha.fr", "ee" * 32, NOON + timedelta(days=700)),
        # Changed by hand to one that expires soon; names come from the state.
        PlatformCertificate("anne.guillou@lannion.fr", "dd" * 32, NOON + timedelta(days=3)),
        # Never pushed by certsync.
        PlatformCertificate(
            "jean.kerv@brest.fr", "cc" * 32, NOON - timedelta(days=1), "Jean", "KERV", "Brest"
        ),
    ]
    entries = expiring(store, 30, AS_OF, platform)
    got = {e.email: (e.organisation, e.nom, e.days_left, e.source) for e in entries}
    assert got == {
        "jean.kerv@brest.fr": ("Brest", "KERV", -1, "platform"),
        "Anne.Le-Bihan@Plouha.fr": ("Commune de Plouha", "LE BIHAN", 10, "state"),
        "anne.guillou@lannion.fr": ("Lannion-Trégor Communauté", "GUILLOU", 3, "platform"),
        "anne.rio@x.fr": (NO_ORGANISATION, "RIO", 30, "state"),
    }
    assert [e.organisation for e in entries] == [
        "Brest",
        "Commune de Plouha",
        "Lannion-Trégor Communauté",
        NO_ORGANISATION,
    ]


def _entry(org: str, email: str = "a@b.fr", **kw: object) -> ExpiringEntry:
    values: dict[str, object] = {
        "email": email,
        "prenom": "Anne",
        "nom": "NOM",
        "organisation": org,
        "sha256": "ab" * 32,
        "common_name": "Anne NOM",
        "not_after": datetime(2026, 12, 15, 10, tzinfo=UTC),
        "days_left": 18,
        "source": "state",
    }
    values.update(kw)
    return ExpiringEntry(**values)  # type: ignore[arg-type]


def test_write_expiring_reports(tmp_path: Path, store: StateStore) -> None:
    entries = expiring(store, 30, AS_OF)
    entries.append(
        _entry(
            '=HYPERLINK("http://evil","x")',
            email="-x@b.fr",
            nom="+NOM",
            prenom="@cmd",
            common_name="=1+1",
            not_after=datetime(2027, 1, 3, tzinfo=UTC),
            days_left=-2,
        )
    )
    out = tmp_path / "reports"
    paths = write_expiring(entries, out, AS_OF, 30)
    assert paths == {ext: out / f"expiring.{ext}" for ext in ("xlsx", "csv", "json")}
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())

    book = openpyxl.load_workbook(paths["xlsx"])
    assert book.sheetnames == [
        "Synthèse",
        "Par mois",
        "Commune de Plouha",
        NO_ORGANISATION,
        '=HYPERLINK("http   evil","x")',
    ]
    summary = book["Synthèse"]
    assert summary["A1"].value == (
        "4 certificats expirés ou expirant d'ici 30 jours (dont 2 déjà expirés), au 27/11/2026."
    )
    assert [c.value for c in summary[4]][:4] == ["Commune de Plouha", "Commune de Plouha", 2, 1]
    assert summary.freeze_panes == "A4"
    plouha = book["Commune de Plouha"]
    assert [c.value for c in plouha[1]][:7] == [
        "E-mail",
        "Prénom",
        "Nom",
        "Organisme",
        "Certificat (CN)",
        "Date d'expiration",
        "Jours restants",
    ]
    assert plouha["C2"].value == "MORVAN"
    assert plouha["F2"].value.date() == date(2026, 11, 22)
    assert plouha["F2"].number_format == "dd/mm/yyyy"
    assert plouha["G2"].value == -5
    assert plouha.freeze_panes == "A2"
    assert plouha.auto_filter.ref == "A1:L3"
    assert plouha.column_dimensions["A"].width > 30
    evil = book.worksheets[4]
    for cell in ("A2", "B2", "C2", "D2", "E2"):
        assert evil[cell].data_type == "s"  # text, never a formula
    assert evil["E2"].value == "=1+1"
    months = book["Par mois"]
    assert [(r[0].value, r[1].value) for r in months.iter_rows(min_row=2)] == [
        ("2026-11", 1),
        ("2026-12", 2),
        ("2027-01", 1),
    ]
    with zipfile.ZipFile(paths["xlsx"]) as archive:
        assert "xl/charts/chart1.xml" in archive.namelist()

    raw = paths["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "e-mail",
        "prénom",
        "nom",
        "organisation",
        "date d'expiration",
        "jours restants",
    ]
    assert rows[1] == [
        "anne.morvan@plouha.fr",
        "Anne",
        "MORVAN",
        "Commune de Plouha",
        "22/11/2026",
        "-5",
    ]
    assert rows[-1] == [
        "'-x@b.fr",
        "'@cmd",
        "'+NOM",
        '\'=HYPERLINK("http://evil","x")',
        "03/01/2027",
        "-2",
    ]

    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert (document["as_of"], document["within_days"], document["count"]) == ("2026-11-27", 30, 4)
    assert document["entries"][0]["email"] == "anne.morvan@plouha.fr"
    assert document["entries"][0]["not_after"].startswith("2026-11-22T12:00:00")


def test_write_expiring_with_no_entries(tmp_path: Path) -> None:
    paths = write_expiring([], tmp_path, AS_OF, 30)
    book = openpyxl.load_workbook(paths["xlsx"])
    assert book.sheetnames == ["Synthèse", "Par mois"]
    assert json.loads(paths["json"].read_text())["count"] == 0


def test_sheet_names_are_valid_and_unique() -> None:
    long = "Communauté de communes du Pays de Landerneau-Daoulas"
    names = sheet_names(
        [long, long + " (bis)", "a/b:c*d?e[f]g\\h", "history", "SYNTHÈSE", "", "'Quoted'"],
        reserved=("Synthèse", "Par mois"),
    )
    values = list(names.values())
    assert len({v.casefold() for v in values}) == len(values)
    assert all(len(v) <= 31 for v in values)
    assert not any(ch in v for v in values for ch in "[]:*?/\\")
    assert names[long] == long[:31]
    assert names[long + " (bis)"] == long[:27] + " (2)"
    assert names["history"] == "history (2)"
    assert names["SYNTHÈSE"] == "SYNTHÈSE (2)"
    assert names[""] == NO_ORGANISATION
    assert names["'Quoted'"] == "Quoted"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6", "'+33 6"),
        ("-x", "'-x"),
        ("@a", "'@a"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Plouha", "Plouha"),
        ("", ""),
    ],
)
def test_escape_cell(text: str, escaped: str) -> None:
    assert escape_cell(text) == escaped
