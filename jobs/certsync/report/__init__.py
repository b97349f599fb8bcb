"""Reports of a run: report.json, exceptions.xlsx and exceptions.csv, from one flattening."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from certsync.plan import plan_cells, plan_rows
from certsync.records import RunResult
from certsync.report.csvfile import write_agents_csv, write_csv
from certsync.report.jsonfile import write_json
from certsync.report.rows import agent_lines, finding_rows, status_counts, summary_rows
from certsync.report.xlsxfile import write_xlsx

__all__ = ["finding_rows", "summary_rows", "write_reports"]


def write_reports(result: RunResult, report_dir: Path) -> dict[str, Path]:
    """Write every report file atomically; report.json last, so its presence means complete."""
    report_dir.mkdir(parents=True, exist_ok=True)
    rows = finding_rows(result)
    plan = list(plan_rows(result))  # computed once for the Plan sheet and report.json
    summary = summary_rows(result, Counter(r.step for r in plan))
    paths = {
        "xlsx": report_dir / "exceptions.xlsx",
        "csv": report_dir / "exceptions.csv",
        "agents": report_dir / "agents.csv",
        "json": report_dir / "report.json",
    }
    write_xlsx(
        paths["xlsx"],
        summary,
        rows,
        agents=agent_lines(result),
        statuses=status_counts(result),
        plan=(plan_cells(r) for r in plan),
    )
    write_csv(paths["csv"], rows)
    write_agents_csv(paths["agents"], result)
    write_json(paths["json"], result, plan)
    return paths
