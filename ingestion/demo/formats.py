"""Rendering and writing: ISO-8601 text for timestamps and dates, and the three file formats.

Timestamps are rendered by joining a per-day date table and a per-second clock table with
Arrow `take` rather than formatting each row, which keeps millions of event rows fast.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.demo.world import SECONDS_PER_DAY

# How event timestamps spell their zone: mostly `Z`, some naive (which means UTC per DESIGN §4)
# and a few with a real offset, so a loader must convert rather than strip.
ZONE_SUFFIXES = ("Z", "", "+02:00", "-05:00")
ZONE_OFFSETS = np.array([0, 0, 7_200, -18_000])
ZONE_SHARES = (0.90, 0.07, 0.015, 0.015)


@cache
def _clock() -> pa.Array:
    """`HH:MM:SS` for every second of a day."""
    return pa.array(
        [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)]
    )


def date_strings(days: np.ndarray) -> pa.Array:
    """`YYYY-MM-DD` for days since 1970-01-01."""
    days = np.asarray(days, dtype=np.int64)
    if days.size == 0:
        return pa.array([], pa.string())
    first = int(days.min())
    table = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    return pa.array(np.datetime_as_string(table)).take(pa.array(days - first))


def timestamp_strings(seconds: np.ndarray, suffix: str | pa.Array = "Z") -> pa.Array:
    """ISO-8601 text for epoch seconds, with a zone suffix (one for all, or one per row)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    day, second = np.divmod(seconds, SECONDS_PER_DAY)
    clock = _clock().take(pa.array(second))
    return pc.binary_join_element_wise(date_strings(day), "T", clock, suffix, "")


def blank_where(values: pa.Array, missing: np.ndarray) -> pa.Array:
    """The values with nulls where `missing` is true (Arrow ignores `mask` on Arrow input)."""
    return pc.if_else(pa.array(missing), pa.scalar(None, values.type), values)


def mixed_zone_timestamps(seconds: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """The same instants, each written in a zone drawn from ZONE_SHARES (local time shifted)."""
    zone = rng.choice(len(ZONE_SUFFIXES), size=len(seconds), p=ZONE_SHARES)
    local = np.asarray(seconds, dtype=np.int64) + ZONE_OFFSETS[zone]
    return timestamp_strings(local, pa.array(ZONE_SUFFIXES).take(pa.array(zone)))


def _cell(value: object) -> object:
    """CSV text the way analysts expect it: empty for null, lower-case booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_csv(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.column_names)
        for row in table.to_pylist():
            writer.writerow([_cell(v) for v in row.values()])
    return path


def write_jsonl(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in table.to_pylist():
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_parquet(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return path


def write_parts(table: pa.Table, names: np.ndarray, folder: Path) -> list[Path]:
    """One Parquet file per run of equal file names (rows are already grouped by name)."""
    if not len(names):
        return []
    edges = np.flatnonzero(names[1:] != names[:-1]) + 1
    bounds = zip(np.r_[0, edges], np.r_[edges, len(names)], strict=True)
    return [write_parquet(table.slice(lo, hi - lo), folder / str(names[lo])) for lo, hi in bounds]
