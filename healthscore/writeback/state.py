"""The warehouse tables the write-back owns (schema `writeback`, not dbt-managed).

- `sync_state`: per destination and CRM record, the field values the CRM last *confirmed*.
  The diff runs against it, and a row is written only after the CRM confirmed it, so the table
  never claims a value the CRM did not confirm and a failed row is retried by itself next run.
  `in_doubt` is set before a record is sent and cleared by its confirmation: a write the CRM
  applied without our seeing the answer may have left another value there, so the record is
  resent next run even if the warehouse goes back to the confirmed values.
- `publish_log`: append-only history of every confirmed write with the config version that
  produced it (DESIGN §6).
- `sync_failures`: append-only, one row per record that failed in a run, with the CRM's reason.
- `parked_records`: records the CRM reports deleted or archived; skipped until re-enabled, so
  they are reported once instead of retried forever.
- `dry_run_records`: what the latest dry run per destination would have sent.
- `sync_runs`: one row per run with the counts reported to the CLI and Dagster.

DuckDB allows one writing process per file, so connections are short: open, write, close.
Each batch's confirmations are committed as soon as the CRM answers, so a crash loses nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from healthscore.crm.batch import RowError

SCHEMA = "writeback"
LOCK_WAIT_SECONDS = 30.0
INSERT_CHUNK = 500

_DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.sync_state (
    destination varchar not null,
    record_id varchar not null,
    account_id varchar,
    field_values varchar not null,
    config_version varchar,
    confirmed_at timestamp not null,
    run_id varchar not null,
    in_doubt boolean not null default false,
    primary key (destination, record_id)
);
create table if not exists {SCHEMA}.publish_log (
    run_id varchar not null,
    destination varchar not null,
    record_id varchar not null,
    account_id varchar,
    field_values varchar not null,
    config_version varchar,
    confirmed_at timestamp not null
);
create table if not exists {SCHEMA}.sync_failures (
    run_id varchar not null,
    destination varchar not null,
    record_id varchar not null,
    account_id varchar,
    category varchar,
    message varchar,
    missing boolean not null,
    failed_at timestamp not null
);
create table if not exists {SCHEMA}.parked_records (
    destination varchar not null,
    record_id varchar not null,
    account_id varchar,
    category varchar,
    message varchar,
    parked_at timestamp not null,
    run_id varchar not null,
    primary key (destination, record_id)
);
create table if not exists {SCHEMA}.dry_run_records (
    run_id varchar not null,
    destination varchar not null,
    record_id varchar not null,
    account_id varchar,
    payload varchar not null,
    config_version varchar,
    recorded_at timestamp not null
);
create table if not exists {SCHEMA}.sync_runs (
    run_id varchar primary key,
    destination varchar not null,
    dry_run boolean not null,
    status varchar not null,
    started_at timestamp not null,
    finished_at timestamp not null,
    candidates integer,
    changed integer,
    sent integer,
    confirmed integer,
    failed integer,
    missing integer,
    parked integer,
    api_calls integer,
    rate_limited integer,
    elapsed_s double,
    message varchar
);
"""


@dataclass(frozen=True)
class SyncRow:
    """One account as the sync model wants it in the CRM, with canonical field values."""

    account_id: str
    record_id: str
    values: dict[str, str]
    config_version: str | None


def utc_now() -> datetime:
    """Naive UTC, the warehouse's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def connect(warehouse: Path, *, prepare: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection; waits (bounded) while another process holds the file.

    `prepare` creates the tables; a run does it once, on its first connection.
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            con = duckdb.connect(str(warehouse))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        if prepare:
            con.execute(_DDL)
        yield con
    finally:
        con.close()


def _insert(con: duckdb.DuckDBPyConnection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows with multi-row VALUES statements: DuckDB's executemany runs one statement
    per row and is several times slower for a 100-row batch."""
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        placeholders = "(" + ",".join("?" * len(chunk[0])) + ")"
        values = ",".join([placeholders] * len(chunk))
        con.execute(sql.format(values=values), [value for row in chunk for value in row])


def confirmed_values(con: duckdb.DuckDBPyConnection, destination: str) -> dict[str, dict[str, str]]:
    rows = con.execute(
        f"select record_id, field_values from {SCHEMA}.sync_state where destination = ?",
        [destination],
    ).fetchall()
    return {record_id: json.loads(values) for record_id, values in rows}


def in_doubt_ids(con: duckdb.DuckDBPyConnection, destination: str) -> set[str]:
    rows = con.execute(
        f"select record_id from {SCHEMA}.sync_state where destination = ? and in_doubt",
        [destination],
    ).fetchall()
    return {record_id for (record_id,) in rows}


def mark_in_doubt(
    con: duckdb.DuckDBPyConnection, destination: str, record_ids: Sequence[str]
) -> None:
    con.execute(
        f"update {SCHEMA}.sync_state set in_doubt = true "
        "where destination = ? and record_id in (select unnest(?::varchar[]))",
        [destination, list(record_ids)],
    )


def parked_ids(con: duckdb.DuckDBPyConnection, destination: str) -> set[str]:
    rows = con.execute(
        f"select record_id from {SCHEMA}.parked_records where destination = ?", [destination]
    ).fetchall()
    return {record_id for (record_id,) in rows}


def unpark(con: duckdb.DuckDBPyConnection, destination: str) -> None:
    con.execute(f"delete from {SCHEMA}.parked_records where destination = ?", [destination])


def record_batch(
    warehouse: Path,
    *,
    run_id: str,
    destination: str,
    confirmed: Sequence[SyncRow],
    failed: Sequence[tuple[SyncRow, RowError]],
) -> None:
    """Commit one batch's outcome: confirmed values into state and the publish log, failures
    into the failure log, missing records into the parking lot — in one transaction."""
    now = utc_now()
    with connect(warehouse) as con:
        con.execute("begin")
        _insert(
            con,
            f"insert into {SCHEMA}.sync_state values {{values}} on conflict "
            "(destination, record_id) do update set account_id = excluded.account_id, "
            "field_values = excluded.field_values, config_version = excluded.config_version, "
            "confirmed_at = excluded.confirmed_at, run_id = excluded.run_id, in_doubt = false",
            [
                (
                    destination,
                    r.record_id,
                    r.account_id,
                    _json(r.values),
                    r.config_version,
                    now,
                    run_id,
                    False,
                )
                for r in confirmed
            ],
        )
        _insert(
            con,
            f"insert into {SCHEMA}.publish_log values {{values}}",
            [
                (
                    run_id,
                    destination,
                    r.record_id,
                    r.account_id,
                    _json(r.values),
                    r.config_version,
                    now,
                )
                for r in confirmed
            ],
        )
        _insert(
            con,
            f"insert into {SCHEMA}.sync_failures values {{values}}",
            [
                (
                    run_id,
                    destination,
                    r.record_id,
                    r.account_id,
                    e.category,
                    e.message,
                    e.missing,
                    now,
                )
                for r, e in failed
            ],
        )
        _insert(
            con,
            f"insert or replace into {SCHEMA}.parked_records values {{values}}",
            [
                (destination, r.record_id, r.account_id, e.category, e.message, now, run_id)
                for r, e in failed
                if e.missing
            ],
        )
        con.execute("commit")


def record_dry_run(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    destination: str,
    records: Sequence[tuple[SyncRow, dict[str, Any]]],
) -> None:
    """Replace the destination's dry-run records with what this run would send."""
    now = utc_now()
    con.execute("begin")
    con.execute(f"delete from {SCHEMA}.dry_run_records where destination = ?", [destination])
    _insert(
        con,
        f"insert into {SCHEMA}.dry_run_records values {{values}}",
        [
            (run_id, destination, r.record_id, r.account_id, _json(payload), r.config_version, now)
            for r, payload in records
        ],
    )
    con.execute("commit")


def record_run(warehouse: Path, summary: dict[str, Any]) -> None:
    columns = ", ".join(summary)
    placeholders = ", ".join("?" * len(summary))
    with connect(warehouse) as con:
        con.execute(
            f"insert into {SCHEMA}.sync_runs ({columns}) values ({placeholders})",
            list(summary.values()),
        )


def _json(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"))
