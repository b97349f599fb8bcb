"""Matching overlapped with reading gives exactly the result of matching at the end."""

from __future__ import annotations

import datetime as dt

import pytest

from certsync.config import Config, Policy
from certsync.errors import InputError
from certsync.pipeline import Hooks, RunRequest, run
from certsync.state import StateStore
from certsync.testkit.evaluation import generate
from certsync.testkit.rosters import write_csv
from tests.helpers import leaf_for, write_pem


def _summary(result):
    agents = [
        (a.agent.row, a.status, a.file, a.sha256, a.method, sorted(f.code for f in a.findings))
        for a in result.agents
    ]
    files = [(f.file, f.status, f.rows, sorted(f.code for f in f.findings)) for f in result.files]
    return agents, files


def test_early_matching_equals_matching_at_the_end(tmp_path, pki):
    truth = generate(900, seed=5, organisations=6)
    certs = tmp_path / "certs"
    truth.write(certs)
    rows = list(truth.roster)
    # Copies of one certificate, each named by a different row: the final names then differ
    # from the ones seen while reading (the shared-certificate corner case).
    cert = leaf_for(pki.chambersign_ca, "Marc", "TANGUY")
    write_pem(certs, "zz/marc-a.cer", cert)
    write_pem(certs, "zz/marc-b.cer", cert)
    rows.append({**rows[0], "Nom": "TANGUY", "Prénom": "Marc", "Courriel": "m1@x.fr",
                 "Fichier": "zz/marc-b.cer"})  # fmt: skip
    rows.append({**rows[1], "Nom": "TANGUY", "Prénom": "Marc", "Courriel": "m2@x.fr",
                 "Fichier": "zz/marc-a.cer"})  # fmt: skip
    roster = write_csv(tmp_path / "agents.csv", rows)
    trust = tmp_path / "trust.pem"
    trust.write_bytes(pki.trust_pem())

    def dry(workers: int):
        request = RunRequest(
            roster=roster,
            certs=certs,
            config=Config(trust=trust, read_workers=workers),
            as_of=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
            run_id="t",
        )
        return run(request)

    parallel, sequential = dry(2), dry(1)
    assert len(parallel.files) >= 400  # the process pool, hence early matching, was used
    assert _summary(parallel) == _summary(sequential)
    shared = [a for a in parallel.agents if a.agent.email in ("m1@x.fr", "m2@x.fr")]
    assert {a.file for a in shared} == {"zz/marc-a.cer"}


def test_results_matched_during_the_read_are_the_ones_kept(tmp_path, pki):
    """Without renamed copies the batches matched while reading are used as they are: the
    result is the one matching everything at the end gives, agent by agent and file by file."""
    truth = generate(900, seed=6, organisations=6)
    certs = tmp_path / "certs"
    truth.write(certs)
    roster = write_csv(tmp_path / "agents.csv", truth.roster)

    def dry(workers: int):
        config = Config(read_workers=workers, policy=Policy(skip_chain_check=True))
        return run(RunRequest(roster, certs, config, dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "t"))

    parallel, sequential = dry(2), dry(1)
    assert len(parallel.files) >= 400  # the process pool, hence matching while reading, was used
    assert _summary(parallel) == _summary(sequential)
    # And that result is right, not merely the same twice: the certificates the generator meant.
    given = {a.agent.email: a.sha256 for a in parallel.agents if a.sha256}
    assert all(given[email] == sha for email, sha in truth.expected.items() if email in given)
    assert len(given.keys() & truth.expected.keys()) >= 0.9 * len(truth.expected)


@pytest.mark.slow
def test_a_roster_error_stops_reading_the_folder_early(tmp_path, pki):
    truth = generate(4000, seed=9, organisations=12)
    certs = tmp_path / "certs"
    truth.write(certs)
    roster = write_csv(tmp_path / "sans-mail.csv", [{"Nom": "A", "Prénom": "B"}])
    request = RunRequest(
        roster=roster,
        certs=certs,
        config=Config(read_workers=2),
        as_of=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        run_id="t",
    )
    with StateStore.open(tmp_path / "state.sqlite") as store:
        with pytest.raises(InputError, match="Courriel"):
            run(request, Hooks(store=store, cache=store.file_cache("f")))
        read = len(store.cache_index(folder="f"))
    # The workers record every file they read: the error stopped them after the batches
    # already handed out (a few of 256 files), not at the end of the folder.
    assert len(truth.files) > 3500
    assert read <= 8 * 256
