"""report.json: the machine-readable, stable form of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from certsync.fsutil import atomic_write_bytes
from certsync.records import RunResult
from certsync.report.rows import totals


def as_dict(result: RunResult) -> dict[str, Any]:
    """The documented report.json structure."""
    return {
        "run_id": result.run_id,
        "as_of": result.as_of.strftime("%Y-%m-%d"),
        "dry_run": result.dry_run,
        "agents": [
            {
                "row": a.agent.row,
                "email": a.agent.email,
                "nom": a.agent.nom,
                "prenom": a.agent.prenom,
                "status": str(a.status),
                "file": a.file,
                "sha256": a.sha256,
                "codes": [str(f.code) for f in a.findings],
                "match": a.method or None,
            }
            for a in result.agents
        ],
        "files": [
            {
                "file": f.file,
                "status": str(f.status),
                "sha256": f.sha256,
                "codes": [str(x.code) for x in f.findings],
                "format": str(f.format),
                "rows": list(f.rows),
            }
            for f in result.files
        ],
        "totals": totals(result),
        "stopped": result.stop_code,
    }


def dumps(data: dict[str, Any]) -> str:
    """Compact JSON with one agent or file per line: fast (C encoder) and diff-friendly."""

    def one(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(one(v) for v in value)
            parts.append(f"{one(key)}:[\n  {items}\n]")
        else:
            parts.append(f"{one(key)}:{one(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_json(path: Path, result: RunResult) -> None:
    """Write report.json atomically."""
    atomic_write_bytes(path, dumps(as_dict(result)).encode("utf-8"))
