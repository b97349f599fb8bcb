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


def write_json(path: Path, result: RunResult) -> None:
    """Write report.json atomically."""
    data = json.dumps(as_dict(result), ensure_ascii=False, indent=1).encode("utf-8")
    atomic_write_bytes(path, data + b"\n")
