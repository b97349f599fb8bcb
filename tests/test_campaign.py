"""expiring.xlsx for the renewal campaign: urgency colours, contiguous months with axis titles,
« rappel envoyé le » and « renouvelé » columns, the command line's wording (read with openpyxl)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl

from certsync import cli
from certsync.renewal import months_between
from certsync.state import StateStore, StoredCert
from certsync.testkit.pki import SamplePKI, agent_subject, make_leaf

AS_OF = date(2026, 11, 27)
NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ORG = "Commune de Plouha"


def _cert(pki: SamplePKI, nom: str, days: int) -> StoredCert:
    issued = make_leaf(
        pki.chambersign_ca,
        agent_subject("Anne", nom, org=ORG),
        not_before=NOON - timedelta(days=900),
        not_after=NOON + timedelta(days=days),
    )
    return StoredCert.from_der(issued.der)


def _push(store: StateStore, cert: StoredCert, email: str, nom: str, old: StoredCert | None = None):
    store.record_write(
        run_id="r1", platform="socle", account_id=email, email=email, cert=cert,
        old_der=old.der if old else None, at=NOON - timedelta(days=3), prenom="Anne", nom=nom,
        organisation=ORG,
    )  # fmt: skip


def test_campaign_workbook(tmp_path: Path, pki: SamplePKI, capsys) -> None:
    state = tmp_path / "state.sqlite"
    with StateStore.open(state) as store:
        for nom, days in (("EXPIRE", -5), ("URGENT", 10), ("BIENTOT", 45), ("PRINTEMPS", 100)):
            _push(store, _cert(pki, nom, days), f"{nom.lower()}@plouha.fr", nom)
        _push(store, _cert(pki, "LOIN", 200), "loin@plouha.fr", "LOIN")
        old = _cert(pki, "RENOUVELE", 20)
        _push(store, old, "renouvele@plouha.fr", "RENOUVELE")
        _push(store, _cert(pki, "RENOUVELE", 1100), "renouvele@plouha.fr", "RENOUVELE", old)
        urgent = store.account("urgent@plouha.fr", "socle")
        assert urgent is not None
        store.record_notification(
            email="urgent@plouha.fr", sha256=urgent.sha256, threshold_days=30,
            sent_at=datetime(2026, 11, 20, 6, 0, tzinfo=UTC), run_id="n1",
        )  # fmt: skip
    out = tmp_path / "campagne"
    code = cli.main(["expiring", "--within", "120", "--state", str(state),
                     "--report-dir", str(out), "--as-of", "2026-11-27"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    headline = (
        "4 certificats expirés ou expirant d'ici 120 jours (dont 1 déjà expiré), au 27/11/2026."
    )
    assert printed[0] == headline
    assert "  Déjà renouvelés : 1 certificat (voir le classeur)." in printed

    book = openpyxl.load_workbook(out / "expiring.xlsx")
    summary = book["Synthèse"]
    assert summary["A1"].value == headline  # the same words as the command line
    assert [c.value for c in summary[3]][:6] == [
        "Organisme", "Feuille", "Certificats", "Déjà expirés", "D'ici 30 jours", "Renouvelés"
    ]  # fmt: skip
    assert [c.value for c in summary[4]][2:6] == [4, 1, 1, 1]

    sheet = book[ORG]
    header = [c.value for c in sheet[1]]
    rows = {
        r[header.index("Nom")].value: {h: c for h, c in zip(header, r, strict=True)}
        for r in sheet.iter_rows(min_row=2)
    }
    assert set(rows) == {"EXPIRE", "URGENT", "BIENTOT", "PRINTEMPS", "RENOUVELE"}
    expected = {
        "EXPIRE": ("expiré", "FFFF9999"),
        "URGENT": ("d'ici 30 jours", "FFF8CBAD"),
        "BIENTOT": ("d'ici 60 jours", "FFFFE699"),
        "RENOUVELE": ("renouvelé", "FFC6EFCE"),
    }
    for nom, (label, colour) in expected.items():
        row = rows[nom]
        assert row["Urgence"].value == label
        for column in ("Urgence", "Jours restants", "Date d'expiration"):
            assert row[column].fill.fgColor.rgb == colour, (nom, column)
    assert rows["PRINTEMPS"]["Urgence"].value == "au-delà de 60 jours"
    assert rows["PRINTEMPS"]["Urgence"].fill.fill_type is None
    assert rows["URGENT"]["Rappel envoyé le"].value == datetime(2026, 11, 20, 6, 0)
    assert rows["BIENTOT"]["Rappel envoyé le"].value is None
    assert rows["RENOUVELE"]["Renouvelé"].value == datetime(2026, 11, 24, 12, 0)
    assert rows["RENOUVELE"]["Jours restants"].value == 20
    assert {rows[n]["Renouvelé"].value for n in ("EXPIRE", "URGENT", "BIENTOT")} == {"non"}

    months = book["Par mois"]
    assert [(r[0].value, r[1].value) for r in months.iter_rows(min_row=2)] == [
        ("2026-11", 1),
        ("2026-12", 1),
        ("2027-01", 1),
        ("2027-02", 0),  # an empty month is shown, as zero
        ("2027-03", 1),
    ]
    (chart,) = months._charts
    assert chart.x_axis.title.tx.rich.p[0].r[0].t == "Mois d'expiration"
    assert chart.y_axis.title.tx.rich.p[0].r[0].t == "Certificats"

    document = json.loads((out / "expiring.json").read_text(encoding="utf-8"))
    assert [e["nom"] for e in document["renewed"]] == ["RENOUVELE"]
    assert document["entries"][1]["reminded"].startswith("2026-11-20T06:00")
    csv_text = (out / "expiring.csv").read_text(encoding="utf-8-sig")
    assert "renouvele@plouha.fr" not in csv_text  # the mail merge is for those still to renew


def test_months_between_crosses_the_year() -> None:
    assert months_between(date(2026, 11, 30), date(2027, 2, 1)) == [
        "2026-11", "2026-12", "2027-01", "2027-02"
    ]  # fmt: skip
    assert months_between(date(2026, 5, 1), date(2026, 5, 31)) == ["2026-05"]
