"""`make bench`: the floor, the end-to-end dry run, a rerun, the XLSX read and the pushes.

Every figure is printed with its ratio to the floor and written to bench/results.json.
N comes from BENCH_N (default 100,000); the scaling check also runs at N/4. The pushes run on
each platform's sandbox (the socle with its SSO); BENCH_ONLY=push measures only them.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import build  # noqa: E402

PYTHON = sys.executable
AS_OF = "2026-03-01"


def _tree_rss_kb(pid: int) -> int:
    """Proportional resident memory (PSS) of a process and all its descendants, from /proc.

    PSS, not RSS: forked workers share the parent's pages, and summing RSS would count them
    once per process.
    """
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += int(rollup.split("\nPss:")[1].split()[0]) if "\nPss:" in rollup else 0
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(cmd: list[str], cwd: Path) -> dict[str, Any]:
    """Wall time, CPU time (process tree) and peak resident memory (process tree) of a command."""
    before = os.times()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.25)  # reading smaps costs CPU: sample sparingly

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": round(peak / 1024, 1),
        "stdout": out.decode()[-400:],
    }


def dry_run(data: Path, work: Path, state: Path, report: str) -> dict[str, Any]:
    cmd = [
        PYTHON, "-m", "certsync", "run", "--roster", str(data / "roster.csv"),
        "--certs", str(data / "certs"), "--trust", str(data / "trust.pem"),
        "--as-of", AS_OF, "--dry-run", "--state", str(state), "--report-dir", report, "--quiet",
    ]  # fmt: skip
    return measure(cmd, work)


def warm(data: Path) -> None:
    """Read every file once, so that no measurement pays for a cold disk cache."""
    for folder, _dirs, names in os.walk(data):
        for name in names:
            (Path(folder) / name).read_bytes()


def floor(data: Path, work: Path) -> dict[str, Any]:
    """The floor script, best of two runs."""
    cmd = [PYTHON, str(HERE / "floor.py"), str(data / "certs"), str(data / "trust.pem"), AS_OF]
    return min((measure(cmd, work) for _ in range(2)), key=lambda r: float(r["wall_s"]))


def xlsx_read(data: Path, work: Path) -> dict[str, Any]:
    code = (
        "import time,sys; from pathlib import Path; from certsync.roster import read_roster;"
        "t=time.perf_counter(); r=read_roster(Path(sys.argv[1]));"
        "print(len(r.agents), round(time.perf_counter()-t, 3))"
    )
    result = measure([PYTHON, "-c", code, str(data / "roster.xlsx")], work)
    rows, seconds = result["stdout"].split()
    return {"rows": int(rows), "read_s": float(seconds), "process_wall_s": result["wall_s"]}


PUSH_PLATFORMS = ("socle", "s2low", "pastell")


def pushes(work: Path) -> dict[str, Any]:
    """bench_push.py on each platform: 1,000 pushes at 50 ms latency with 16 workers.

    The one-worker figure runs on BENCH_PUSH_SINGLE_N agents (default 0: skipped, since 1,000
    pushes one at a time take about four minutes per platform).
    """
    n = os.environ.get("BENCH_PUSH_N", "1000")
    single_n = os.environ.get("BENCH_PUSH_SINGLE_N", "0")
    out: dict[str, Any] = {}
    for name in PUSH_PLATFORMS:
        proc = subprocess.run(
            [PYTHON, str(HERE / "bench_push.py"), "--platform", name, "-n", n,
             "--single-n", single_n, "--workers", "16", "--latency-ms", "50"],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        try:
            out[name] = dict(json.loads(proc.stdout))
        except ValueError:
            out[name] = {"error": proc.stderr[-1000:]}
    return out


def push_lines(push: dict[str, Any]) -> list[str]:
    """One French line per platform: requests per agent and wall time."""
    lines = []
    for name, r in push.items():
        if "concurrent" not in r:
            lines.append(f"{name:8} : ÉCHEC {r.get('error', '')[-300:]}")
            continue
        c = r["concurrent"]
        sso = f" (dont SSO {c['sso_requests']} en tout)" if c["sso_requests"] else ""
        line = (
            f"{name:8} : {r['n']} dépôts, {c['workers']} workers, {r['latency_ms']} ms : "
            f"{c['seconds']} s ; {c['requests_per_agent']} requêtes/agent{sso} ; "
            f"pic {c['max_requests_per_second']} req/s (plafond {r['rate_cap_per_second']:g})"
        )
        if "single" in r:
            s = r["single"]
            line += f" ; 1 worker, {s['pushed']} dépôts : {s['seconds']} s (×{r['speedup']})"
        lines.append(line)
    return lines


def push_only() -> int:
    """BENCH_ONLY=push: only the push figures, merged into the existing results.json."""
    work = Path(tempfile.mkdtemp(prefix="certsync-bench-"))
    try:
        push = pushes(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["push"] = push
    print("\n".join(push_lines(push)))
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


def main() -> int:
    if os.environ.get("BENCH_ONLY") == "push":
        return push_only()
    n = int(os.environ.get("BENCH_N", "100000"))
    quarter = max(1000, n // 4)
    print(f"Données : N = {n} (et N/4 = {quarter}), générées une fois dans bench/.cache/")
    data, data_quarter = build(n), build(quarter)
    work = Path(tempfile.mkdtemp(prefix="certsync-bench-"))
    results: dict[str, Any] = {
        "n": n,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        "dataset": json.loads((data / "done.json").read_text()),
    }
    warm(data)
    warm(data_quarter)
    try:
        results["floor"] = floor(data, work)
        results["dry_run"] = dry_run(data, work, work / "state.sqlite", "r1")
        results["rerun"] = dry_run(data, work, work / "state.sqlite", "r2")
        results["floor_quarter"] = floor(data_quarter, work)
        results["dry_run_quarter"] = dry_run(data_quarter, work, work / "state-q.sqlite", "rq")
        results["xlsx_read"] = xlsx_read(data, work)
        results["push"] = pushes(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    f, d, r = results["floor"], results["dry_run"], results["rerun"]
    results["ratios"] = {
        "dry_run_over_floor": round(d["wall_s"] / f["wall_s"], 3),
        "rerun_over_first_run": round(r["wall_s"] / d["wall_s"], 3),
        "growth_quarter_to_n": round(d["wall_s"] / results["dry_run_quarter"]["wall_s"], 3),
    }
    for key in ("floor", "dry_run", "rerun", "floor_quarter", "dry_run_quarter"):
        results[key].pop("stdout", None)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    targets = {
        "dry run ≤ 1.0 × floor": results["ratios"]["dry_run_over_floor"] <= 1.0,
        "peak RSS ≤ 600 MB": d["peak_rss_mb"] <= 600,
        "N/4 → N growth ≤ 4.4×": results["ratios"]["growth_quarter_to_n"] <= 4.4,
        "rerun ≤ 10 % of first run": results["ratios"]["rerun_over_first_run"] <= 0.10,
        "XLSX roster read < 5 s": results["xlsx_read"]["read_s"] < 5.0,
    }
    results["targets"] = targets
    for label, ok in targets.items():
        print(f"{'OK ' if ok else 'NON'}  {label}")
    print("\n".join(push_lines(results["push"])))
    (HERE / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
