"""The state's run log: each run's start, end and counts, and the inputs a later run may reuse."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from certsync.state.base import StoreBase
from certsync.state.models import RunSummary, _from_row, _ts, clean_parameters


class RunLog(StoreBase):
    """Runs: begun, ended, looked up, and their inputs remembered for the shortcut."""

    def begin_run(
        self,
        *,
        run_id: str,
        command: str,
        parameters: Mapping[str, Any],
        started: datetime,
    ) -> str:
        """Record the start of a run and return its id; credential-like parameters are dropped."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, command, started, parameters) VALUES (?, ?, ?, ?)",
                (run_id, command, _ts(started), json.dumps(clean_parameters(parameters))),
            )
        return run_id

    def end_run(
        self,
        run_id: str,
        *,
        ended: datetime,
        exit_code: int,
        counts: Mapping[str, int],
        report_path: Path | str | None = None,
    ) -> None:
        """Record how a run ended."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET ended = ?, exit_code = ?, counts = ?, report_path = ? "
                "WHERE run_id = ?",
                (
                    _ts(ended),
                    int(exit_code),
                    json.dumps(dict(counts), sort_keys=True),
                    str(report_path) if report_path is not None else None,
                    run_id,
                ),
            )

    def run(self, run_id: str) -> RunSummary | None:
        """One run by id."""
        rows = self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return _from_row(RunSummary, rows[0]) if rows else None

    def last_runs(self, n: int) -> list[RunSummary]:
        """The `n` most recent runs, newest first."""
        rows = self._query("SELECT * FROM runs ORDER BY started DESC, run_id DESC LIMIT ?", (n,))
        return [_from_row(RunSummary, r) for r in rows]

    def record_inputs(
        self,
        run_id: str,
        *,
        fingerprint: str,
        as_of: datetime,
        valid_until: datetime | None,
        settled: bool,
    ) -> None:
        """Remember a finished run's inputs, and until when its result stays true."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO run_inputs VALUES (?, ?, ?, ?, ?)",
                (
                    run_id,
                    fingerprint,
                    _ts(as_of),
                    _ts(valid_until) if valid_until is not None else None,
                    int(settled),
                ),
            )

    def reusable_run(self, fingerprint: str, as_of: datetime) -> RunSummary | None:
        """The latest finished run with the same inputs whose result still holds at `as_of`.

        Only a settled run counts (nothing left to push or retry), whose own date is not after
        `as_of` and whose validity window (the next expiry or start date) is not reached.
        """
        rows = self._query(
            "SELECT r.* FROM runs r JOIN run_inputs i ON i.run_id = r.run_id "
            "WHERE i.fingerprint = ? AND i.settled = 1 AND r.ended IS NOT NULL "
            "AND r.exit_code IN (0, 1) AND i.as_of <= ? "
            "AND (i.valid_until IS NULL OR i.valid_until > ?) "
            "ORDER BY r.started DESC LIMIT 1",
            (fingerprint, _ts(as_of), _ts(as_of)),
        )
        return _from_row(RunSummary, rows[0]) if rows else None
