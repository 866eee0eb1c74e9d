"""File-source throughput: 2 M product events through contract validation and dlt into DuckDB.

Baseline, measured in the same run on the same files: DuckDB alone copying the Parquet parts
into a table (no validation, no quarantine, no dlt). The ratio is what the contract costs.

    .venv/bin/python bench/bench_file_source.py [--rows 2000000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.file_source import load_files


def write_events(source: Path, rows: int, months: int = 12) -> None:
    rng = np.random.default_rng(7)
    accounts = np.array([f"A{i:05d}" for i in range(500)])
    (source / "events").mkdir(parents=True)
    (source / "accounts.csv").write_text(
        "account_id,name\n" + "".join(f"{a},{a}\n" for a in accounts)
    )
    (source / "contracts.csv").write_text(
        "contract_id,account_id,start_date,end_date\nc1,A00000,2024-01-01,2025-01-01\n"
    )
    per_month = rows // months
    for month in range(1, months + 1):
        seconds = rng.integers(0, 28 * 86400, per_month).astype("timedelta64[s]")
        stamps = (np.datetime64(f"2024-{month:02d}-01T00:00:00") + seconds).astype(str)
        table = pa.table(
            {
                "account_id": accounts[rng.integers(0, len(accounts), per_month)],
                "event_name": np.array(["login", "report", "export"])[
                    rng.integers(0, 3, per_month)
                ],
                "occurred_at": np.char.add(stamps, "Z"),
                "user_id": np.char.add("u", rng.integers(0, 5000, per_month).astype(str)),
                "event_id": np.char.add(f"{month}-", np.arange(per_month).astype(str)),
                "quantity": rng.integers(1, 5, per_month).astype(str),
            }
        )
        pq.write_table(table, source / "events" / f"events-2024-{month:02d}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_events(root / "source", args.rows)

        started = time.perf_counter()
        with duckdb.connect(str(root / "baseline.duckdb")) as con:
            con.execute(
                "create table events as select * from read_parquet(?)",
                [str(root / "source" / "events" / "*.parquet")],
            )
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        report = load_files(root / "source", root / "warehouse.duckdb", pipelines_dir=root / "dlt")
        first = time.perf_counter() - started

        started = time.perf_counter()
        load_files(root / "source", root / "warehouse.duckdb", pipelines_dir=root / "dlt")
        rerun = time.perf_counter() - started

    loaded = report.rows_loaded["events"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events loaded:         {loaded:,}")
    print(f"baseline duckdb copy:  {baseline:.1f}s")
    print(f"file source, first:    {first:.1f}s  ({loaded / first:,.0f} rows/s)")
    print(f"file source, unchanged re-run: {rerun:.1f}s")
    print(f"ratio first / baseline: {first / baseline:.1f}x;  peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
