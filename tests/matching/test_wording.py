"""Small wrongs an administrator would notice: which file is the duplicate, the elected
official's shared certificate, and French plurals."""

from __future__ import annotations

import pytest

from certsync.assign import is_copy_name
from certsync.findings import CATALOGUE, Code, finding
from certsync.french import plural
from certsync.records import AgentStatus, FileStatus
from tests.helpers import BREST_SIRET, leaf_for, write_pem
from tests.matching.test_decide import agent_result, dry_run, file_result, roster_row


@pytest.mark.parametrize(
    "copy",
    [
        "Copie de thomas.cer",
        "copy of thomas.cer",
        "thomas (1).cer",
        "thomas(2).cer",
        "thomas - Copie.cer",
        "thomas - Copie (3).cer",
        "thomas - Copy.cer",
        "sous/dossier/thomas_copie.pem",
    ],
)
def test_the_copy_is_called_the_duplicate_whatever_the_order(tmp_path, pki, copy):
    assert is_copy_name(copy)
    cert = leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS")
    # The copy sorts first by path ("Copie…" < "thomas", "sous/" > "thomas" aside): the name
    # decides, not the order.
    write_pem(tmp_path / "certs", copy, cert)
    write_pem(tmp_path / "certs", "thomas.cer", cert)
    result = dry_run(tmp_path, [roster_row("Thomas", "DUBOIS", "t@x.fr")], pki)
    assert agent_result(result, "t@x.fr").file == "thomas.cer"
    assert file_result(result, "thomas.cer").status is FileStatus.USED
    dup = file_result(result, copy)
    assert dup.status is FileStatus.DUPLICATE
    assert dup.findings[0].code is Code.FILE_DUPLICATE
    assert "« thomas.cer », qui est utilisé à sa place" in dup.findings[0].message()


@pytest.mark.parametrize("name", ["thomas.cer", "copieur.cer", "Dupont (Rennes).cer", "1.cer"])
def test_ordinary_names_are_not_copies(name):
    assert not is_copy_name(name)


def test_org_mismatch_action_covers_the_elected_official(tmp_path, pki):

    # Across organisations only the certificate's own e-mail attributes it (a name would be
    # held as MATCH_OTHER_ORGANISATION); the organisation mismatch is then a warning.
    cert = leaf_for(
        pki.chambersign_ca, "Anne", "LE BRIS", siret=BREST_SIRET, email="anne@rennes.fr"
    )
    write_pem(tmp_path / "certs", "anne.cer", cert)
    result = dry_run(tmp_path, [roster_row("Anne", "LE BRIS", "anne@rennes.fr")], pki)
    agent = agent_result(result, "anne@rennes.fr")
    assert agent.status is AgentStatus.WOULD_PUSH
    (mismatch,) = [f for f in agent.findings if f.code is Code.CERT_ORG_MISMATCH]
    assert "élu" in mismatch.action() and "plusieurs collectivités" in mismatch.action()


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 certificat"), (1, "1 certificat"), (2, "2 certificats"), (150, "150 certificats")],
)
def test_plural(n, text):
    assert plural(n, "certificat") == text


def test_chain_finding_agrees_its_count_even_from_an_old_cache_entry():
    # The count stays an int parameter, so findings cached by an earlier version read right.
    one = finding(Code.FILE_CHAIN_INCLUDED, file="a.p7b", count=1, subject="X")
    two = finding(Code.FILE_CHAIN_INCLUDED, file="a.p7b", count=2, subject="X")
    assert "aussi 1 certificat d'autorité ;" in one.message()
    assert "aussi 2 certificats d'autorité ;" in two.message()
    assert "aussi ? ;" in finding(Code.FILE_CHAIN_INCLUDED, file="a.p7b").message()


def test_no_administrator_text_writes_a_plural_with_brackets():
    for spec in CATALOGUE.values():
        for text in (spec.title, spec.message, spec.action):
            assert "(s)" not in text and "(es)" not in text, text


def test_expiring_summary_agrees_in_number(tmp_path, capsys):
    from certsync import cli

    state = str(tmp_path / "s.sqlite")
    code = cli.main(["expiring", "--within", "1", "--state", state, "--report-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("0 certificat expiré ou expirant d'ici 1 jour (dont 0 déjà expiré)")


def test_sizes_and_digit_counts_agree_in_number():
    from certsync.certfiles.scan import _human
    from certsync.roster.clean import clean_org_number

    assert _human(1) == "1 octet" and _human(900) == "900 octets"
    assert clean_org_number("7").problem == "1 chiffre au lieu de 9 (SIREN) ou 14 (SIRET)"
    assert clean_org_number("12").problem == "2 chiffres au lieu de 9 (SIREN) ou 14 (SIRET)"
