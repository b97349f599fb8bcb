"""report.json: the machine-readable, stable form of a run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from certsync.fsutil import atomic_path
from certsync.plan import PlanRow, plan_json, plan_rows
from certsync.records import AgentResult, FileResult, RunResult
from certsync.report.rows import totals


def _agent(a: AgentResult) -> dict[str, Any]:
    return {
        "row": a.agent.row,
        "email": a.agent.email,
        "nom": a.agent.nom,
        "prenom": a.agent.prenom,
        "status": a.status.value,
        "file": a.file,
        "sha256": a.sha256,
        "codes": [f.code.value for f in a.findings],
        "match": a.method or None,
    }


def _file(f: FileResult) -> dict[str, Any]:
    return {
        "file": f.file,
        "status": f.status.value,
        "sha256": f.sha256,
        "codes": [x.code.value for x in f.findings],
        "format": f.format.value,
        "rows": list(f.rows),
    }


def sections(result: RunResult, plan: Sequence[PlanRow] = ()) -> Iterator[tuple[str, object]]:
    yield "run_id", result.run_id
    yield "as_of", result.as_of.strftime("%Y-%m-%d")
    yield "dry_run", result.dry_run
    yield "agents", (_agent(a) for a in result.agents)
    yield "files", (_file(f) for f in result.files)
    rows = plan or list(plan_rows(result))
    yield "plan", plan_json(rows)
    yield "plan_totals", dict(sorted(Counter(str(r.step) for r in rows).items()))
    yield "totals", totals(result)
    yield "stopped", result.stop_code


#: One encoder for the whole report: json.dumps with options builds a new encoder per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def write_stream(out: IO[str], sections: Iterable[tuple[str, object]]) -> None:
    """Compact JSON, one agent or file per line: fast (C encoder), diff-friendly, streamed."""
    out.write("{")
    for i, (key, value) in enumerate(sections):
        out.write(("\n" if i == 0 else ",\n") + _ENCODE(key) + ":")
        if isinstance(value, Iterator | list):
            written = 0
            for item in value:
                out.write(("[\n  " if written == 0 else ",\n  ") + _ENCODE(item))
                written += 1
            out.write("\n]" if written else "[]")
        else:
            out.write(_ENCODE(value))
    out.write("\n}\n")


def write_json(path: Path, result: RunResult, plan: Sequence[PlanRow] = ()) -> None:
    """Write report.json atomically, streamed (no whole-report string in memory)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as out:
        write_stream(out, sections(result, plan))
