"""A temporary warehouse holding what the lead's dbt models publish for alert delivery:
`main.fct_health_alerts` (the alert contract) and `main.account_health_current` (the active
accounts the storm guard takes its share of)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from healthscore.alerts.alert import ALERT_COLUMNS

TODAY = dt.date(2025, 3, 3)


def make_warehouse(path: Path, *, active_accounts: int = 100) -> Path:
    with duckdb.connect(str(path)) as con:
        columns = ", ".join(f"{name} {kind}" for name, kind in ALERT_COLUMNS)
        con.execute(f"create table main.fct_health_alerts ({columns})")
        con.execute("create table main.account_health_current (account_id varchar)")
        con.execute(
            "insert into main.account_health_current select 'acc_' || i from range(?) t(i)",
            [active_accounts],
        )
    return path


def alert_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A plausible alert for account `acc_{n}`; overrides replace any column."""
    row = {
        "alert_id": f"alert_{n:04d}",
        "account_id": f"acc_{n}",
        "account_name": f"Account {n}",
        "alert_kind": "entered_red",
        "alert_date": TODAY,
        "segment": "mid_market",
        "owner_id": f"{1000 + n}",
        "owner_email": f"owner{n}@example.com",
        "arr": 10_000.0 * (n + 1),
        "renewal_date": TODAY + dt.timedelta(days=60),
        "score_before": 52.0,
        "score_after": 31.0,
        "status_before": "yellow",
        "status_after": "red",
        "crm_company_id": f"{900000 + n}",
        "driver_1_signal": "active_user_ratio",
        "driver_1_text": "active users 41 → 12",
        "driver_1_before": 41.0,
        "driver_1_after": 12.0,
        "config_version": "weights-v1",
    }
    row.update(overrides)
    return row


def add_alerts(warehouse: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    names = [name for name, _ in ALERT_COLUMNS]
    with duckdb.connect(str(warehouse)) as con:
        con.executemany(
            f"insert into main.fct_health_alerts ({', '.join(names)}) "
            f"values ({', '.join('?' for _ in names)})",
            [[row.get(name) for name in names] for row in rows],
        )


def deliveries(warehouse: Path, channel: str | None = None) -> dict[str, dict[str, Any]]:
    """alert_id → delivery row (for one channel, or keyed `alert_id/channel` for all)."""
    with duckdb.connect(str(warehouse)) as con:
        cursor = con.execute("select * from alerts.deliveries order by alert_id, channel")
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    if channel is not None:
        return {r["alert_id"]: r for r in rows if r["channel"] == channel}
    return {f"{r['alert_id']}/{r['channel']}": r for r in rows}
