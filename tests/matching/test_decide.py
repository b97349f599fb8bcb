"""De-duplication and the final decision per row, through the dry-run pipeline on real files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from certsync.config import Config, Policy
from certsync.findings import Code
from certsync.pipeline import RunRequest, run
from certsync.records import AgentStatus, FileStatus, RunResult
from certsync.testkit.rosters import write_csv
from tests.helpers import BREST_SIRET, RENNES_SIREN, RENNES_SIRET, leaf_for, write_pem

AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def roster_row(prenom: str, nom: str, email: str, fichier: str = "", siren: str = RENNES_SIREN):
    return {
        "Nom": nom,
        "Prénom": prenom,
        "Courriel": email,
        "Collectivité": "Commune de Rennes",
        "SIREN": siren,
        "Fichier": fichier,
    }


def dry_run(tmp_path: Path, rows, pki, *, trust: bool = True, **config) -> RunResult:
    roster = write_csv(tmp_path / "agents.csv", rows)
    trust_path = None
    if trust:
        trust_path = tmp_path / "trust.pem"
        trust_path.write_bytes(pki.trust_pem())
    certs = tmp_path / "certs"
    certs.mkdir(exist_ok=True)
    request = RunRequest(
        roster=roster,
        certs=certs,
        config=Config(trust=trust_path, **config),
        as_of=AS_OF,
        run_id="t",
    )
    return run(request)


def agent_result(result: RunResult, email: str):
    return next(a for a in result.agents if a.agent.email == email)


def file_result(result: RunResult, name: str):
    return next(f for f in result.files if f.file == name)


def test_same_certificate_in_two_files_is_used_once(tmp_path, pki):
    cert = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    write_pem(tmp_path / "certs", "a/thomas.cer", cert)
    write_pem(tmp_path / "certs", "b/copie.cer", cert)
    result = dry_run(tmp_path, [roster_row("Thomas", "DUBOIS", "t@x.fr")], pki)
    assert agent_result(result, "t@x.fr").status is AgentStatus.WOULD_PUSH
    assert file_result(result, "a/thomas.cer").status is FileStatus.USED
    dup = file_result(result, "b/copie.cer")
    assert dup.status is FileStatus.DUPLICATE
    assert [f.code for f in dup.findings] == [Code.FILE_DUPLICATE]
    assert "a/thomas.cer" in dup.findings[0].message()


def test_duplicate_named_in_file_column_is_the_one_kept(tmp_path, pki):
    cert = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    write_pem(tmp_path / "certs", "a.cer", cert)
    write_pem(tmp_path / "certs", "z.cer", cert)
    result = dry_run(tmp_path, [roster_row("Thomas", "DUBOIS", "t@x.fr", "z.cer")], pki)
    assert agent_result(result, "t@x.fr").file == "z.cer"
    assert file_result(result, "a.cer").status is FileStatus.DUPLICATE


def test_renewal_most_recent_valid_certificate_wins(tmp_path, pki):
    old = leaf_for(
        pki.chambersign_ca, "Zoé", "PRIGENT", not_before=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )
    new = leaf_for(
        pki.chambersign_ca, "Zoé", "PRIGENT", not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    write_pem(tmp_path / "certs", "old.cer", old)
    write_pem(tmp_path / "certs", "new.cer", new)
    result = dry_run(tmp_path, [roster_row("Zoé", "PRIGENT", "z@x.fr")], pki)
    assert agent_result(result, "z@x.fr").file == "new.cer"
    superseded = file_result(result, "old.cer")
    assert superseded.status is FileStatus.SUPERSEDED
    assert Code.MATCH_SUPERSEDED in [f.code for f in superseded.findings]


def test_a_newer_certificate_that_is_not_yet_valid_does_not_win(tmp_path, pki):
    current = leaf_for(
        pki.chambersign_ca, "Zoé", "PRIGENT", not_before=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    future = leaf_for(
        pki.chambersign_ca, "Zoé", "PRIGENT", not_before=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    )
    write_pem(tmp_path / "certs", "current.cer", current)
    write_pem(tmp_path / "certs", "future.cer", future)
    result = dry_run(tmp_path, [roster_row("Zoé", "PRIGENT", "z@x.fr")], pki)
    assert agent_result(result, "z@x.fr").file == "current.cer"
    assert file_result(result, "future.cer").status is FileStatus.SUPERSEDED


def test_shared_certificate_warns_with_the_s2low_consequence(tmp_path, pki):
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    write_pem(tmp_path / "certs", "marc.cer", cert)
    rows = [
        roster_row("Marc", "TANGUY", "marc@rennes.fr", "marc.cer"),
        roster_row("Marc", "TANGUY", "marc@brest.fr", "marc.cer"),
    ]
    result = dry_run(tmp_path, rows, pki)
    for email in ("marc@rennes.fr", "marc@brest.fr"):
        a = agent_result(result, email)
        assert a.status is AgentStatus.WOULD_PUSH
        shared = [f for f in a.findings if f.code is Code.MATCH_SHARED_CERTIFICATE]
        assert shared and "S²LOW" in shared[0].message()
        assert "marc@rennes.fr" in shared[0].message() and "marc@brest.fr" in shared[0].message()


def test_org_mismatch_is_a_warning_by_default_and_blocking_by_policy(tmp_path, pki):
    # Matched by its e-mail: a name alone from another organisation would be held.
    cert = leaf_for(pki.chambersign_ca, "Erwan", "QUÉRÉ", siret=BREST_SIRET, san_email="e@x.fr")
    write_pem(tmp_path / "certs", "erwan.cer", cert)
    rows = [roster_row("Erwan", "QUÉRÉ", "e@x.fr")]
    result = dry_run(tmp_path, rows, pki)
    a = agent_result(result, "e@x.fr")
    assert a.status is AgentStatus.WOULD_PUSH
    assert Code.CERT_ORG_MISMATCH in [f.code for f in a.findings]
    strict = dry_run(tmp_path, rows, pki, policy=Policy(org_mismatch_blocking=True))
    assert agent_result(strict, "e@x.fr").status is AgentStatus.BLOCKED


def test_without_trust_store_every_certificate_is_held_and_the_summary_says_so(tmp_path, pki):
    write_pem(tmp_path / "certs", "t.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    rows = [roster_row("Thomas", "DUBOIS", "t@x.fr")]
    result = dry_run(tmp_path, rows, pki, trust=False)
    a = agent_result(result, "t@x.fr")
    assert a.status is AgentStatus.BLOCKED
    assert Code.CERT_CHAIN_UNCHECKED in [f.code for f in a.findings]
    assert any("AUCUN MAGASIN DE CONFIANCE" in n for n in result.notices)
    skipped = dry_run(tmp_path, rows, pki, trust=False, policy=Policy(skip_chain_check=True))
    b = agent_result(skipped, "t@x.fr")
    assert b.status is AgentStatus.WOULD_PUSH
    assert Code.CERT_CHAIN_UNCHECKED in [f.code for f in b.findings]


def test_held_file_points_its_candidates_to_it(tmp_path, pki):
    write_pem(tmp_path / "certs", "n.cer", leaf_for(pki.chambersign_ca, "Nathalie", "MARTIN"))
    rows = [
        roster_row("Nathalie", "MARTIN", "n1@x.fr"),
        roster_row("Nathalie", "MARTIN", "n2@x.fr"),
    ]
    result = dry_run(tmp_path, rows, pki)
    assert file_result(result, "n.cer").status is FileStatus.HELD
    for email in ("n1@x.fr", "n2@x.fr"):
        a = agent_result(result, email)
        assert a.status is AgentStatus.NO_CERTIFICATE
        (nocert,) = [f for f in a.findings if f.code is Code.MATCH_NO_CERTIFICATE]
        assert "n.cer" in nocert.message()
        assert "fichier de décisions" in nocert.action() and "n.cer" in nocert.action()


def test_decisions_file_settles_a_held_case(tmp_path, pki):
    cert = leaf_for(pki.chambersign_ca, "Nathalie", "MARTIN")
    write_pem(tmp_path / "certs", "n.cer", cert)
    rows = [
        roster_row("Nathalie", "MARTIN", "n1@x.fr"),
        roster_row("Nathalie", "MARTIN", "n2@x.fr"),
    ]
    first = dry_run(tmp_path, rows, pki)
    sha = file_result(first, "n.cer").sha256
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(f"empreinte;courriel\n{sha};N2@x.fr\nzz;n1@x.fr\n", encoding="utf-8")
    result = dry_run(tmp_path, rows, pki, decisions=decisions)
    assert agent_result(result, "n2@x.fr").status is AgentStatus.WOULD_PUSH
    assert agent_result(result, "n1@x.fr").status is AgentStatus.NO_CERTIFICATE
    assert [f.code for f in result.general] == [Code.MATCH_DECISION_INVALID]


@pytest.mark.parametrize("word", ["ignorer", "IGNORER"])
def test_decisions_file_can_ignore_a_certificate(tmp_path, pki, word):
    cert = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    write_pem(tmp_path / "certs", "t.cer", cert)
    rows = [roster_row("Thomas", "DUBOIS", "t@x.fr")]
    sha = file_result(dry_run(tmp_path, rows, pki), "t.cer").sha256
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(f"{sha},{word}\n", encoding="utf-8")
    result = dry_run(tmp_path, rows, pki, decisions=decisions)
    assert agent_result(result, "t@x.fr").status is AgentStatus.NO_CERTIFICATE
    assert file_result(result, "t.cer").status is FileStatus.REJECTED


def test_orphan_file_still_reports_why_it_would_not_be_usable(tmp_path, pki):
    expired = leaf_for(
        pki.chambersign_ca, "Bernard", "INCONNU", not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    write_pem(tmp_path / "certs", "b.cer", expired)
    result = dry_run(tmp_path, [roster_row("Thomas", "DUBOIS", "t@x.fr")], pki)
    orphan = file_result(result, "b.cer")
    assert orphan.status is FileStatus.ORPHAN
    assert {f.code for f in orphan.findings} == {Code.MATCH_ORPHAN_FILE, Code.CERT_EXPIRED}


def test_duplicate_roster_rows_keep_the_first(tmp_path, pki):
    write_pem(tmp_path / "certs", "t.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    rows = [roster_row("Thomas", "DUBOIS", "t@x.fr"), roster_row("Thomas", "DUBOIS", "T@X.fr")]
    result = dry_run(tmp_path, rows, pki)
    first, second = result.agents
    assert first.status is AgentStatus.WOULD_PUSH
    assert second.status is AgentStatus.BLOCKED
    assert [f.code for f in second.findings] == [Code.ROSTER_DUPLICATE_AGENT]


def test_newer_namesake_from_another_organisation_never_supersedes(tmp_path, pki):
    own = leaf_for(
        pki.chambersign_ca, "Zoé", "PRIGENT", not_before=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    stranger = leaf_for(
        pki.chambersign_ca,
        "Zoé",
        "PRIGENT",
        siret=BREST_SIRET,
        not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        slot=1,
    )
    write_pem(tmp_path / "certs", "own.cer", own)
    write_pem(tmp_path / "certs", "brest.cer", stranger)
    result = dry_run(tmp_path, [roster_row("Zoé", "PRIGENT", "z@x.fr")], pki)
    a = agent_result(result, "z@x.fr")
    assert (a.file, a.status) == ("own.cer", AgentStatus.WOULD_PUSH)
    held = file_result(result, "brest.cer")
    assert held.status is FileStatus.HELD
    assert [f.code for f in held.findings][:1] == [Code.MATCH_OTHER_ORGANISATION]


def test_newer_certificate_matched_by_a_weaker_signal_does_not_replace(tmp_path, pki):
    own = leaf_for(
        pki.chambersign_ca,
        "Zoé",
        "PRIGENT",
        san_email="z@x.fr",
        not_before=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    # Newer, no e-mail, a one-letter different surname: a weak (fuzzy) match at best.
    near = leaf_for(
        pki.chambersign_ca, "Zoé", "PRIGENTT", not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    write_pem(tmp_path / "certs", "own.cer", own)
    write_pem(tmp_path / "certs", "near.cer", near)
    result = dry_run(tmp_path, [roster_row("Zoé", "PRIGENT", "zp@x.fr")], pki)
    # Without the e-mail in the roster, both are name matches of different strength.
    a = agent_result(result, "zp@x.fr")
    assert a.file == "own.cer"
    other = file_result(result, "near.cer")
    assert other.status is FileStatus.HELD
    assert Code.MATCH_WEAKER_CANDIDATE in [f.code for f in other.findings]
    assert "own.cer" in next(
        f.message() for f in other.findings if f.code is Code.MATCH_WEAKER_CANDIDATE
    )


def test_report_says_which_evidence_and_which_check(tmp_path, pki):
    write_pem(tmp_path / "certs", "t.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    result = dry_run(tmp_path, [roster_row("Thomas", "DUBOIS", "t@x.fr")], pki)
    method = agent_result(result, "t@x.fr").method
    assert method.startswith("nom et organisme du certificat (vérifié :")
    assert "aucun autre candidat dans l'organisme" in method


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("SIRET", RENNES_SIREN),
        (
            "SIRET",
            " ".join((RENNES_SIRET[:3], RENNES_SIRET[3:6], RENNES_SIRET[6:9], RENNES_SIRET[9:])),
        ),
        ("SIREN", f"{RENNES_SIRET[:3]} {RENNES_SIRET[3:6]} {RENNES_SIRET[6:9]} {RENNES_SIRET[9:]}"),
        ("SIREN", f"{RENNES_SIREN[:3]}.{RENNES_SIREN[3:6]}.{RENNES_SIREN[6:]}"),
    ],
)
def test_siren_or_siret_in_either_column_with_spaces_keeps_the_organisation(
    tmp_path, pki, column, cell
):
    write_pem(tmp_path / "certs", "t.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))
    row = roster_row("Thomas", "DUBOIS", "t@x.fr", siren="")
    row[column] = cell
    result = dry_run(tmp_path, [row], pki)
    a = agent_result(result, "t@x.fr")
    assert a.agent.siren == RENNES_SIREN
    assert a.agent.siret == (RENNES_SIRET if len(cell.replace(" ", "")) == 14 else "")
    assert (a.status, a.file) == (AgentStatus.WOULD_PUSH, "t.cer")
    assert "nom et organisme du certificat" in a.method
    assert not [f for f in a.findings if f.code is Code.ROSTER_ID_INVALID]
