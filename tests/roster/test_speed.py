"""Large rosters: linear time, and the reader leaves the garbage collector as it found it."""

from __future__ import annotations

import gc
import time

import pytest

from certsync.errors import InputError
from certsync.roster import read_roster
from certsync.testkit.rosters import sample_rows, write_csv, write_xlsx


@pytest.mark.slow
def test_50k_rows_read_in_seconds_not_minutes(tmp_path):
    rows = sample_rows(50_000)
    csv_path = write_csv(tmp_path / "big.csv", rows, encoding="cp1252")
    xlsx_path = write_xlsx(tmp_path / "big.xlsx", rows, ids_as_numbers=True)
    for path in (csv_path, xlsx_path):
        start = time.process_time()
        roster = read_roster(path)
        elapsed = time.process_time() - start
        assert len(roster.agents) == 50_000 and roster.findings == ()
        # About 0.5 s here (100k rows: 0.9 s CSV, 1.3 s XLSX); the bound catches a quadratic slip.
        assert elapsed < 10, f"{path.name}: {elapsed:.1f} s"


def test_gc_state_restored(write_csv):
    good = write_csv("Nom;Prénom;Courriel\nDupont;Jean;j@m.fr\n", name="good.csv")
    bad = write_csv("rien\n", name="bad.csv")
    assert gc.isenabled()
    read_roster(good)
    assert gc.isenabled()
    with pytest.raises(InputError):
        read_roster(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        read_roster(good)
        assert not gc.isenabled()
    finally:
        gc.enable()
