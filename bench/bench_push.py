"""Benchmark of the push stage on one platform's sandbox at 50 ms latency, under a rate cap."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from typing import Any

from certsync.config import PlatformConfig
from certsync.connectors import make_connector
from certsync.connectors.pem import sha256_hex
from certsync.push import PushItem, push
from certsync.records import Agent, AgentStatus
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER, SandboxCredentials
from certsync.testkit.pki import agent_subject, make_leaf, sample_pki

ENV = {"CERTSYNC_USER": DEMO_USER, "CERTSYNC_PASSWORD": DEMO_PASSWORD, "CERTSYNC_TOKEN": DEMO_TOKEN}


def _items(n: int) -> list[PushItem]:
    ca = sample_pki().chambersign_ca
    items = []
    for i in range(n):
        email = f"agent{i:04d}@bench.bzh"
        der = make_leaf(ca, agent_subject("Agent", f"Bench{i:04d}", email=email)).der
        items.append(
            PushItem(i + 2, Agent(i + 2, email, f"Bench{i:04d}", "Agent"), sha256_hex(der), der)
        )
    return items


def _max_per_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def _one_run(
    platform: str, items: list[PushItem], config: PlatformConfig, latency_ms: int
) -> dict[str, Any]:
    rows = [{"email": i.agent.email, "nom": i.agent.nom, "prenom": i.agent.prenom} for i in items]
    with start_sandbox(
        platform, accounts=rows, latency_ms=latency_ms, credentials=SandboxCredentials()
    ) as sandbox:
        connector = make_connector(config, url=sandbox.url, env=ENV)
        started = time.perf_counter()
        run = push(items, connector, config)
        elapsed = time.perf_counter() - started
        connector.close()
        log = sandbox.requests()
        # The socle's logins go to its SSO, a second server: count its requests too.
        sso = sandbox.sso.requests() if sandbox.sso is not None else []
        pushed = sum(o.status is AgentStatus.PUSHED for o in run.outcomes)
        writes = sorted({int(str(a["writes"])) for a in sandbox.accounts()})
    return {
        "workers": config.workers,
        "seconds": round(elapsed, 2),
        "requests": len(log),
        "sso_requests": len(sso),
        "requests_per_agent": round((len(log) + len(sso)) / max(1, len(items)), 2),
        "platform_requests_per_agent": round(len(log) / max(1, len(items)), 2),
        "pushed": pushed,
        "writes_per_account": writes,
        "max_requests_per_second": _max_per_second([float(str(r["t"])) for r in log]),
    }


def main(argv: list[str] | None = None) -> int:
    """Push n certificates with the configured workers (and, if asked, with one), print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--platform", default="socle", choices=("socle", "s2low", "pastell"))
    parser.add_argument("-n", type=int, default=1000, help="certificates to push")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rate", type=float, default=150.0, help="rate cap, requests per second")
    parser.add_argument(
        "--single-n",
        type=int,
        default=0,
        help="certificates for the one-worker run (0: skip it; at 50 ms, 1,000 take ~4 min)",
    )
    args = parser.parse_args(argv)

    base = PlatformConfig(name=args.platform, rate_per_second=args.rate, timeout_seconds=10.0)
    multi = _one_run(
        args.platform, _items(args.n), replace(base, workers=args.workers), args.latency_ms
    )
    print(
        f"{args.platform} : {args.workers} workers, {args.n} dépôts : {multi['seconds']} s, "
        f"{multi['requests_per_agent']} requêtes par agent",
        file=sys.stderr,
    )
    result: dict[str, Any] = {
        "platform": args.platform,
        "n": args.n,
        "latency_ms": args.latency_ms,
        "rate_cap_per_second": args.rate,
        "concurrent": multi,
    }
    peak = multi["max_requests_per_second"]
    ok = multi["pushed"] == args.n and multi["writes_per_account"] == [1]
    if args.single_n > 0:
        single = _one_run(
            args.platform, _items(args.single_n), replace(base, workers=1), args.latency_ms
        )
        print(
            f"{args.platform} : 1 worker, {args.single_n} dépôts : {single['seconds']} s",
            file=sys.stderr,
        )
        # Per-agent time, so that a smaller one-worker run still compares.
        per_single = single["seconds"] / args.single_n
        per_multi = multi["seconds"] / args.n
        result["single"] = single
        result["speedup"] = round(per_single / per_multi, 2)
        peak = max(peak, single["max_requests_per_second"])
        ok = ok and result["speedup"] >= 5
    result["rate_cap_respected"] = peak <= args.rate
    print(json.dumps(result, indent=2))
    return 0 if ok and result["rate_cap_respected"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
