"""Reports of a run: report.json, exceptions.xlsx and exceptions.csv, from one flattening."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from certsync.fsutil import atomic_path
from certsync.records import RunResult
from certsync.report.csvfile import write_agents_csv, write_csv
from certsync.report.jsonfile import sections, write_stream
from certsync.report.rows import finding_rows, summary_rows
from certsync.report.xlsxfile import write_xlsx

__all__ = ["finding_rows", "summary_rows", "write_reports"]

#: Below this many findings the workbook is written in-process (a fork costs ~10 ms).
_FORK_ABOVE_ROWS = 5_000


def write_reports(result: RunResult, report_dir: Path) -> dict[str, Path]:
    """Write every report file atomically; report.json last, so its presence means complete."""
    report_dir.mkdir(parents=True, exist_ok=True)
    rows = finding_rows(result)
    summary = summary_rows(result)
    paths = {
        "xlsx": report_dir / "exceptions.xlsx",
        "csv": report_dir / "exceptions.csv",
        "agents": report_dir / "agents.csv",
        "json": report_dir / "report.json",
    }
    # The workbook is the slowest writer: on big runs, a forked child writes it while this
    # process writes the CSV and JSON (the child inherits the rows, nothing is pickled).
    child = None
    if len(rows) >= _FORK_ABOVE_ROWS and "fork" in multiprocessing.get_all_start_methods():
        child = multiprocessing.get_context("fork").Process(
            target=write_xlsx, args=(paths["xlsx"], summary, rows), name="report-xlsx"
        )
        child.start()
    else:
        write_xlsx(paths["xlsx"], summary, rows)
    write_csv(paths["csv"], rows)
    write_agents_csv(paths["agents"], result)
    # report.json is renamed into place last, once the workbook is complete too.
    with atomic_path(paths["json"]) as tmp:
        with tmp.open("w", encoding="utf-8") as out:
            write_stream(out, sections(result))
        if child is not None:
            child.join()
            if child.exitcode != 0:
                raise OSError(f"xlsx report writer failed with exit code {child.exitcode}")
    return paths
