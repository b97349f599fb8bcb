"""The matching evaluation: a generated set with known truth, through the whole dry run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from certsync.config import Config
from certsync.pipeline import RunRequest, run
from certsync.records import FileStatus, RunResult
from certsync.testkit.evaluation import Truth, generate
from certsync.testkit.rosters import write_csv, write_xlsx

COLUMNS = ("Nom", "Prénom", "Courriel", "Collectivité", "SIREN", "SIRET")


def evaluate(tmp_path: Path, pki, truth: Truth, roster_format: str) -> RunResult:
    certs = tmp_path / "certs"
    truth.write(certs)
    if roster_format == "xlsx":
        roster = write_xlsx(tmp_path / "agents.xlsx", truth.roster, columns=COLUMNS)
    else:
        roster = write_csv(
            tmp_path / "agents.csv", truth.roster, columns=COLUMNS, encoding="cp1252"
        )
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
    return run(request)


def score(truth: Truth, result: RunResult) -> tuple[dict[str, Counter[str]], list[object]]:
    """Per class: attributable, right, wrong, held; and the wrong attributions themselves."""
    table: dict[str, Counter[str]] = {}
    wrong: list[object] = []
    for a in result.agents:
        email = a.agent.email
        line = table.setdefault(truth.agent_class.get(email, "?"), Counter())
        line["attributable"] += email in truth.expected
        if a.sha256 is None:
            continue
        owner = truth.owner.get(a.file or "")
        if owner != email:
            wrong.append((email, a.file, owner, a.method))
            table.setdefault(truth.file_class.get(a.file or "", "?"), Counter())["wrong"] += 1
        elif truth.expected.get(email) == a.sha256:
            line["right"] += 1
    for f in result.files:
        if f.status is FileStatus.HELD:
            table.setdefault(truth.file_class.get(f.file, "?"), Counter())["held"] += 1
    return table, wrong


def show(title: str, table: dict[str, Counter[str]]) -> str:
    lines = [f"\n{title}", f"{'classe':42} attribuables  justes  fausses  en attente"]
    for name, c in sorted(table.items()):
        lines.append(
            f"{name:42} {c['attributable']:12} {c['right']:7} {c['wrong']:8} {c['held']:11}"
        )
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("roster_format", "seed", "agents"), [("csv", 11, 2400), ("xlsx", 5, 2400), ("xlsx", 3, 3000)]
)
def test_evaluation_set_no_wrong_certificate_and_99_percent_matched(
    tmp_path, pki, roster_format, seed, agents
):
    truth = generate(agents, seed=seed)
    result = evaluate(tmp_path, pki, truth, roster_format)
    table, wrong = score(truth, result)
    attributable = sum(c["attributable"] for c in table.values())
    right = sum(c["right"] for c in table.values())
    print(show(f"{roster_format}, graine {seed}, {len(truth.roster)} agents, "
               f"{len(truth.files)} fichiers : {right}/{attributable} "
               f"({right / attributable:.2%})", table))  # fmt: skip
    assert wrong == []
    for name, c in table.items():
        assert c["wrong"] == 0, name
    planted = {"homonyme d'un autre organisme", "boîte partagée (ancien titulaire)",
               "GN/SN inversés", "nom à une lettre (autre personne)", "nom de naissance",
               "faute dans la liste", "fichier au nom d'un collègue", "SIREN/SIRET en colonne",
               "Bernard MARTIN / Martin BERNARD"}  # fmt: skip
    assert planted <= set(table), planted - set(table)
    assert right / attributable >= 0.99
