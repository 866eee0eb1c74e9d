"""`make demo` on a fresh clone: cold (creates .venv, generates, loads, builds) then warm.

The issue's targets are cold < 5 min and warm < 60 s. The machine is shared, so the script also
times a fixed reference workload in the same run (DuckDB scanning the generated events) and
prints each figure as a ratio to it. uv's package cache is whatever this machine has: a first
install on a new machine downloads the wheels once more.

    .venv/bin/python bench/bench_demo.py
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALTHSCORE_", "VIRTUAL_"))}
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def reference_workload(clone: Path) -> float:
    """A fixed amount of DuckDB work on the demo's own files, to normalise the noisy timings."""
    events = clone / "data" / "demo" / "source" / "events" / "*.parquet"
    started = time.perf_counter()
    with duckdb.connect() as con:
        for _ in range(5):
            con.execute(
                "select account_id, count(distinct user_id), sum(cast(quantity as double)) "
                "from read_parquet(?) group by account_id",
                [str(events)],
            ).fetchall()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "healthscore"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        cold = timed(["make", "demo"], clone)
        warm = timed(["make", "demo"], clone)
        reference = reference_workload(clone)
    print(f"make demo, cold (fresh clone, no .venv): {cold:6.1f}s  (target < 300 s)")
    print(f"make demo, warm (second run):            {warm:6.1f}s  (target < 60 s)")
    print(f"reference workload (DuckDB, same run):   {reference:6.1f}s")
    print(f"ratios to reference: cold {cold / reference:.1f}x, warm {warm / reference:.1f}x")


if __name__ == "__main__":
    main()
