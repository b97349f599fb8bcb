"""Hostile rosters are refused in French, and reading any roster stays under 500 MB."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from certsync.config import Limits
from certsync.errors import InputError
from certsync.roster import read_roster
from tests import hostile_xlsx

#: What the reading may use at most, the whole process included.
BUDGET_MB = 500

# The child caps its own address space: before the fix, the first two files made calamine ask
# for 512 GiB and 8 GB; the cap turns that into a quick failure instead of a thrashing machine.
_READ = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from certsync.errors import InputError
from certsync.roster import read_roster
try:
    roster = read_roster(Path(sys.argv[1]))
    outcome = {"agents": len(roster.agents)}
except InputError as exc:
    outcome = {"refused": exc.message, "hint": exc.hint}
outcome["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(outcome))
"""


def read_in_child(path: Path) -> dict[str, Any]:
    """Read the roster in a fresh process; its outcome and peak resident memory."""
    proc = subprocess.run(
        [sys.executable, "-c", _READ, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"the reader died ({proc.returncode}): {proc.stderr[-2000:]}"
    outcome: dict[str, Any] = json.loads(proc.stdout)
    assert outcome["peak_mb"] < BUDGET_MB, outcome
    return outcome


def test_one_cell_at_xfd1048576_is_refused_not_fatal(tmp_path: Path) -> None:
    rows = [*hostile_xlsx.agents(1), (1048576, [(16383, "x")])]
    path = hostile_xlsx.write(tmp_path / "agents.xlsx", rows)
    assert path.stat().st_size < 2000
    outcome = read_in_child(path)
    assert "XFD1048576" in outcome["refused"] and "1\u202f048\u202f576 lignes" in outcome["refused"]
    assert "Ctrl+Fin" in outcome["hint"]


def test_one_cell_at_zz300000_is_refused(tmp_path: Path) -> None:
    rows = [*hostile_xlsx.agents(1), (300000, [(701, "x")])]
    outcome = read_in_child(hostile_xlsx.write(tmp_path / "agents.xlsx", rows))
    assert "ZZ300000" in outcome["refused"]


@pytest.mark.slow
def test_a_million_row_workbook_is_refused_within_budget(tmp_path: Path) -> None:
    rows = (
        (n, [(0, f"N{n}")]) if n > 1 else (1, list(enumerate(hostile_xlsx.HEADER)))
        for n in range(1, 1048577)
    )
    outcome = read_in_child(hostile_xlsx.write(tmp_path / "agents.xlsx", rows))
    assert "1\u202f048\u202f576 lignes" in outcome["refused"]


@pytest.mark.slow
def test_a_199_mb_csv_is_refused_within_budget(tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    line = "".join(f"DUBOIS{i};Thomas;t{i}@x.fr;213502388\n" for i in range(10_000)).encode()
    with path.open("wb") as out:
        out.write("Nom;Prénom;Courriel;SIREN\n".encode())
        while out.tell() < 199 * 1000 * 1000:
            out.write(line)
    outcome = read_in_child(path)
    assert "trop volumineuse" in outcome["refused"]


@pytest.mark.slow
def test_millions_of_tiny_shared_strings_are_refused_within_budget(tmp_path: Path) -> None:
    # 22 MB on disk, 9 million strings: calamine loads them all when it opens the workbook.
    path = hostile_xlsx.write(tmp_path / "agents.xlsx", hostile_xlsx.agents(2), shared=9_000_000)
    outcome = read_in_child(path)
    assert "anormalement volumineux" in outcome["refused"], outcome


def test_more_shared_strings_than_cells_is_refused(tmp_path: Path) -> None:
    path = hostile_xlsx.write(tmp_path / "agents.xlsx", hostile_xlsx.agents(2), shared=500)
    assert len(read_roster(path).agents) == 2
    with pytest.raises(InputError, match="500 textes différents"):
        read_roster(path, limits=Limits(max_roster_cells=400))


def test_csv_with_too_many_lines_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_bytes(b"Nom;Pr\xc3\xa9nom;Courriel\n" + b"A;B;a@x.fr\n" * 400)
    with pytest.raises(InputError, match="401 lignes") as raised:
        read_roster(path, limits=Limits(max_roster_rows=300))
    assert "max_roster_rows" in raised.value.hint


def test_csv_with_too_many_cells_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_text("Nom;Prénom;Courriel" + ";x" * 60 + "\n" + "A;B;a@x.fr\n" * 20)
    with pytest.raises(InputError, match="cellules"):
        read_roster(path, limits=Limits(max_roster_cells=100))


def test_formatted_blank_cells_far_away_do_not_count(tmp_path: Path) -> None:
    rows = [*hostile_xlsx.agents(3), (1048576, [(16383, None)])]
    roster = read_roster(hostile_xlsx.write(tmp_path / "agents.xlsx", rows))
    assert [a.nom for a in roster.agents] == ["NOM2", "NOM3", "NOM4"]


def test_cells_without_coordinates_are_counted_as_calamine_places_them(tmp_path: Path) -> None:
    rows = list(hostile_xlsx.agents(5))
    path = hostile_xlsx.write(tmp_path / "agents.xlsx", rows, with_refs=False)
    assert len(read_roster(path).agents) == 5
    with pytest.raises(InputError, match="C6"):
        read_roster(path, limits=Limits(max_roster_cells=17))


def test_rows_cap_applies_to_xlsx(tmp_path: Path) -> None:
    path = hostile_xlsx.write(tmp_path / "agents.xlsx", hostile_xlsx.agents(20))
    with pytest.raises(InputError, match="C21"):
        read_roster(path, limits=Limits(max_roster_rows=20))
    assert len(read_roster(path, limits=Limits(max_roster_rows=21)).agents) == 20


@pytest.mark.parametrize("seed", [1, 2])
def test_damaged_workbooks_give_french_errors_only(tmp_path: Path, seed: int) -> None:
    """Random byte changes in a workbook: read, or refused with an InputError; nothing else."""
    base = hostile_xlsx.write(tmp_path / "agents.xlsx", hostile_xlsx.agents(20)).read_bytes()
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    for _ in range(150):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / "damaged.xlsx"
        path.write_bytes(bytes(data))
        try:
            read_roster(path)
            outcomes["read"] = outcomes.get("read", 0) + 1
        except InputError as exc:
            assert exc.message and "Traceback" not in exc.message
            outcomes["refused"] = outcomes.get("refused", 0) + 1
    assert outcomes.get("refused", 0) > 100, outcomes


def test_random_bytes_as_csv_give_french_errors_only(tmp_path: Path) -> None:
    rng = random.Random(3)
    header = "Nom;Prénom;Courriel\n".encode()
    for _ in range(200):
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        path = tmp_path / "agents.csv"
        path.write_bytes(header + body if rng.random() < 0.7 else body)
        try:
            read_roster(path)
        except InputError as exc:
            assert exc.message
