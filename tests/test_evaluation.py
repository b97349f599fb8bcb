"""The matching evaluation: a generated set with known truth, through the whole dry run."""

from __future__ import annotations

import datetime as dt

from certsync.config import Config
from certsync.pipeline import RunRequest, run
from certsync.records import AgentStatus
from certsync.testkit.evaluation import generate
from certsync.testkit.rosters import write_csv


def test_evaluation_set_no_wrong_certificate_and_99_percent_matched(tmp_path, pki):
    truth = generate(2400, seed=11)
    certs = tmp_path / "certs"
    truth.write(certs)
    roster = write_csv(tmp_path / "agents.csv", truth.roster, encoding="cp1252")
    trust = tmp_path / "trust.pem"
    trust.write_bytes(pki.trust_pem())
    request = RunRequest(
        roster=roster,
        certs=certs,
        config=Config(trust=trust),
        as_of=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        run_id="eval",
        dry_run=True,
    )
    result = run(request)

    wrong, matched, missed = [], 0, []
    for a in result.agents:
        if a.sha256 is None:
            if a.agent.email in truth.expected:
                missed.append(a.agent.email)
            continue
        owner = truth.owner.get(a.file or "")
        if owner != a.agent.email:
            wrong.append((a.agent.email, a.file, owner))
        elif truth.expected.get(a.agent.email) == a.sha256:
            matched += 1
        elif a.agent.email in truth.expected:
            missed.append(a.agent.email)  # got an older certificate of theirs
    matchable = len(truth.expected)
    recall = matched / matchable
    print(
        f"\nevaluation: {len(truth.roster)} agents, {len(truth.files)} files, "
        f"{matchable} matchable, {matched} matched ({recall:.2%}), {len(wrong)} wrong, "
        f"variants {dict(truth.variants)}"
    )
    assert wrong == []
    assert recall >= 0.99, missed[:20]
    assert sum(1 for a in result.agents if a.status is AgentStatus.WOULD_PUSH) >= matched * 0.9
