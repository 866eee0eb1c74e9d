"""The outbox in the warehouse (schema `alerts`): what was seen, what each channel did with it.

- `alerts.outbox`: every alert the model ever published, copied once when first seen
  (append-only, so a later change of weights cannot rewrite what fired).
- `alerts.deliveries`: one row per alert and channel; its status is the delivery protocol:
  pending → sending → sent | failed, or held → pending (released) | discarded, or dry_run.
  `sending` is committed before the request leaves, so a row found in `sending` later means
  "outcome unknown": the destination is asked before anything is sent again.
- `alerts.runs`: one row per delivery run with the storm-guard figures, so a hold is visible.

DuckDB allows one process per file: every function here takes an open connection, and callers
open it around one step and close it before any HTTP request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from healthscore.alerts.alert import ALERT_COLUMNS, Alert

MODEL = "main.fct_health_alerts"

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
HELD, DISCARDED, DRY_RUN = "held", "discarded", "dry_run"
DUE = (PENDING, FAILED, SENDING)

_COLUMNS = ", ".join(name for name, _ in ALERT_COLUMNS)
_SCHEMA = f"""
create schema if not exists alerts;
create table if not exists alerts.outbox (
    {", ".join(f"{name} {kind}" for name, kind in ALERT_COLUMNS)},
    run_id varchar not null,
    first_seen_at timestamp not null,
    primary key (alert_id)
);
create table if not exists alerts.deliveries (
    alert_id varchar not null,
    channel varchar not null,
    destination varchar,
    status varchar not null,
    attempts integer not null,
    last_error varchar,
    external_ref varchar,
    payload varchar,
    run_id varchar not null,
    attempted_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null,
    primary key (alert_id, channel)
);
create table if not exists alerts.runs (
    run_id varchar primary key,
    started_at timestamp not null,
    finished_at timestamp,
    new_alerts integer,
    too_old integer,
    alerting_accounts integer,
    active_accounts integer,
    storm_share double,
    stale_sources varchar,
    held boolean not null default false,
    held_alerts integer,
    hold_reasons varchar,
    settled varchar,
    settled_at timestamp
);
"""


@dataclass(frozen=True)
class Delivery:
    alert_id: str
    channel: str
    status: str
    attempts: int
    destination: str | None
    attempted_at: dt.datetime | None
    run_id: str


@contextmanager
def connect(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One short-lived connection with the outbox tables present."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(_SCHEMA)
        yield con
    finally:
        con.close()


def utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC, the form DuckDB `timestamp` stores."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> None:
    con.execute("insert into alerts.runs (run_id, started_at) values (?, ?)", [run_id, utc(now)])


def update_run(con: duckdb.DuckDBPyConnection, run_id: str, **values: Any) -> None:
    names = ", ".join(f"{k} = ?" for k in values)
    params = [json.dumps(v) if isinstance(v, (list, tuple)) else v for v in values.values()]
    con.execute(f"update alerts.runs set {names} where run_id = ?", [*params, run_id])


def copy_new_alerts(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> int:
    """Copy alerts not seen before from the model; the alert id is the idempotency key."""
    before = _count(con, "select count(*) from alerts.outbox")
    con.execute(
        f"""
        insert into alerts.outbox ({_COLUMNS}, run_id, first_seen_at)
        select {_COLUMNS}, ?, ? from {MODEL} as m
        where not exists (select 1 from alerts.outbox as o where o.alert_id = m.alert_id)
        """,
        [run_id, utc(now)],
    )
    return _count(con, "select count(*) from alerts.outbox") - before


def run_alerts(con: duckdb.DuckDBPyConnection, run_id: str, since: dt.date) -> list[Alert]:
    """Alerts first seen in `run_id` and dated `since` or later (older ones are history)."""
    return _alerts(con, "run_id = ? and alert_date >= ? order by alert_id", [run_id, since])


def alerts_by_id(con: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> dict[str, Alert]:
    ids = list(ids)
    if not ids:
        return {}
    found = _alerts(con, "alert_id in (select unnest(?))", [ids])
    return {a.alert_id: a for a in found}


def add_deliveries(
    con: duckdb.DuckDBPyConnection,
    keys: Sequence[str],
    channels: Sequence[str],
    *,
    status: str,
    run_id: str,
    now: dt.datetime,
) -> None:
    rows = [
        [key, channel, status, run_id, utc(now), utc(now)] for key in keys for channel in channels
    ]
    if rows:
        con.executemany(
            """
            insert into alerts.deliveries
                (alert_id, channel, status, attempts, run_id, created_at, updated_at)
            values (?, ?, ?, 0, ?, ?, ?)
            on conflict do nothing
            """,
            rows,
        )


def due_deliveries(con: duckdb.DuckDBPyConnection, channels: Sequence[str]) -> list[Delivery]:
    """Unknown outcomes first (they block nothing else but must be settled), then oldest."""
    rows = con.execute(
        """
        select alert_id, channel, status, attempts, destination, attempted_at, run_id
        from alerts.deliveries
        where status in (select unnest(?)) and channel in (select unnest(?))
        order by status = 'sending' desc, created_at, alert_id, channel
        """,
        [list(DUE), list(channels)],
    ).fetchall()
    return [Delivery(*row) for row in rows]


def claim(
    con: duckdb.DuckDBPyConnection, d: Delivery, destination: str, now: dt.datetime
) -> int | None:
    """Mark one delivery `sending` before its request leaves; None if another run moved it."""
    row = con.execute(
        """
        update alerts.deliveries
        set status = 'sending', attempts = attempts + 1, destination = ?,
            attempted_at = ?, updated_at = ?
        where alert_id = ? and channel = ? and status = ? and attempts = ?
        returning attempts
        """,
        [destination, utc(now), utc(now), d.alert_id, d.channel, d.status, d.attempts],
    ).fetchone()
    return None if row is None else row[0]


def settle(
    con: duckdb.DuckDBPyConnection,
    d: Delivery,
    status: str,
    now: dt.datetime,
    *,
    error: str | None = None,
    external_ref: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record what a send or look-up established; `sending` with an error keeps it unknown."""
    con.execute(
        """
        update alerts.deliveries
        set status = ?, last_error = ?, updated_at = ?,
            external_ref = coalesce(?, external_ref), payload = coalesce(?, payload)
        where alert_id = ? and channel = ?
        """,
        [
            status,
            error,
            utc(now),
            external_ref,
            None if payload is None else json.dumps(payload, ensure_ascii=False),
            d.alert_id,
            d.channel,
        ],
    )


def _alerts(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[Alert]:
    cursor = con.execute(f"select {_COLUMNS} from alerts.outbox where {where}", params)
    names = [c[0] for c in cursor.description]
    return [Alert.from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]
