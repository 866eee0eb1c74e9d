"""Bench: a first HubSpot sync of 10 000 accounts at the default rate limit.

Runs the production path (`run_sync` configured from the environment, so the shared limiter
and default retry policy are the real ones) against a local HubSpot portal that enforces the
Starter private-app limit (100 requests per rolling 10 s), then the same sync with no limiter
against an unlimited portal as a baseline measured in the same run. Reports duration, request
count, the most requests that arrived in any 10 s window, and 429s.

    .venv/bin/python bench/bench_writeback.py [--accounts 10000] [--rate-limit 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from healthscore.crm.hubspot_client import HubSpotClient, HubSpotSettings
from healthscore.crm.rate_limit import WINDOW_SECONDS, Unlimited, client_budget
from healthscore.writeback import ensure_properties, run_sync
from tests.fakes import FakeHubSpot
from tests.fakes.sync_models import sample_rows, write_model

BATCH_UPDATE = r"/batch/update$"


def first_sync(accounts: int, rate_limit: int | None, workdir: Path) -> dict[str, Any]:
    """Set up a portal with `accounts` companies and time one first sync into it."""
    warehouse = workdir / f"bench-{rate_limit or 'unlimited'}.duckdb"
    with FakeHubSpot(rate_limit=rate_limit, search_per_second=None) as portal:
        ids = [portal.add("companies", name=f"Company {i}") for i in range(accounts)]
        write_model(warehouse, "hubspot", sample_rows(ids))
        if rate_limit:  # the production path: everything from the environment
            os.environ |= {
                "HUBSPOT_ACCESS_TOKEN": portal.token,
                "HUBSPOT_BASE_URL": portal.url,
                "HEALTHSCORE_CRM_RATE_LIMIT": str(rate_limit),
            }
            client = None
            assert ensure_properties("hubspot").ok
        else:
            settings = HubSpotSettings(base_url=portal.url, access_token=portal.token)
            client = HubSpotClient(settings, limiter=Unlimited())
            assert ensure_properties("hubspot", client=client).ok
        started = time.monotonic()
        report = run_sync("hubspot", warehouse, client=client, progress=_progress)
        duration = time.monotonic() - started
        print(file=sys.stderr)
        assert report.status == "ok" and report.confirmed == accounts, report.message
        return {
            "portal_limit": rate_limit,
            "duration_s": round(duration, 2),
            "api_calls": report.api_calls,
            "batch_requests": portal.log.count("POST", BATCH_UPDATE),
            "all_requests": portal.log.count(),
            "max_requests_in_any_10s": portal.log.max_in_window(WINDOW_SECONDS),
            "rate_limited_429s": portal.log.rate_limited,
            "confirmed": report.confirmed,
        }


def _progress(done: int, total: int) -> None:
    print(f"\r  {done:>6} / {total} rows", end="", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--rate-limit", type=int, default=100, help="portal requests per 10 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("rate-limited sync (production path)...", file=sys.stderr)
        limited = first_sync(args.accounts, args.rate_limit, Path(tmp))
        print("baseline: no limiter, unlimited portal...", file=sys.stderr)
        baseline = first_sync(args.accounts, None, Path(tmp))
    budget = client_budget(args.rate_limit)
    calls = limited["all_requests"]
    result = {
        "accounts": args.accounts,
        "client_budget_per_10s": budget,
        "pacing_floor_s": (math.ceil(calls / budget) - 1) * WINDOW_SECONDS,
        "limited": limited,
        "baseline": baseline,
        "ratio_to_baseline": round(limited["duration_s"] / baseline["duration_s"], 2),
        "within_limit": limited["max_requests_in_any_10s"] <= args.rate_limit
        and limited["rate_limited_429s"] == 0,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"first sync of {args.accounts} accounts, portal limit {args.rate_limit}/10 s")
    for name in ("limited", "baseline"):
        run = result[name]
        print(
            f"  {name:<8} {run['duration_s']:>7.2f} s  {run['api_calls']:>4} API calls "
            f"({run['all_requests']} requests incl. set-up)  max {run['max_requests_in_any_10s']} "
            f"in any 10 s  429s {run['rate_limited_429s']}"
        )
    print(
        f"  ratio {result['ratio_to_baseline']}x; pacing floor {result['pacing_floor_s']:.0f} s "
        f"at {budget} requests per 10 s; within limit: {result['within_limit']}"
    )


if __name__ == "__main__":
    main()
