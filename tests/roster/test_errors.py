"""Roster files that stop the run: missing, a folder, too large, unreadable, other formats."""

from __future__ import annotations

import os

import pytest

from certsync.config import Limits
from certsync.errors import ExitCode, InputError
from certsync.roster import read_roster

CSV = "Nom;Prénom;Courriel\nDupont;Jean;jean@mairie.fr\n"


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="introuvable") as caught:
        read_roster(tmp_path / "absent.csv")
    assert caught.value.exit_code is ExitCode.INPUT


def test_directory(tmp_path):
    with pytest.raises(InputError, match="est un dossier"):
        read_roster(tmp_path)


def test_too_large(write_csv):
    with pytest.raises(InputError, match="trop volumineuse") as caught:
        read_roster(write_csv(CSV), limits=Limits(max_roster_bytes=20))
    assert "max_roster_bytes" in caught.value.hint


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable(write_csv):
    path = write_csv(CSV)
    path.chmod(0)
    with pytest.raises(InputError, match="illisible"):
        read_roster(path)


@pytest.mark.parametrize("suffix", [".xls", ".ods", ".xlsm", ".xlsb", ".XLS"])
def test_other_spreadsheet_formats_refused(write_csv, suffix):
    with pytest.raises(InputError, match=r"seulement les formats \.xlsx et \.csv") as caught:
        read_roster(write_csv(CSV, name=f"agents{suffix}"))
    assert ".xlsx ou .csv" in caught.value.hint


def test_ole_file_refused(write_csv):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
    with pytest.raises(InputError, match="97-2003"):
        read_roster(write_csv(data, name="agents.xlsx"))


def test_txt_and_tsv_read_as_csv(write_csv):
    assert len(read_roster(write_csv(CSV, name="agents.txt")).agents) == 1
    tsv = CSV.replace(";", "\t")
    assert read_roster(write_csv(tsv, name="agents.tsv")).detected["separator"] == "tabulation"


def test_empty_file(write_csv):
    with pytest.raises(InputError, match="Aucune ligne d'en-tête"):
        read_roster(write_csv(b""))


def test_read_error_becomes_input_error(write_csv, monkeypatch):
    path = write_csv(CSV)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("certsync.roster.reader.open_regular", refuse)
    with pytest.raises(InputError, match=r"illisible.*Permission denied"):
        read_roster(path)
