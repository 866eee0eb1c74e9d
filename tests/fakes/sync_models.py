"""Sync-model tables as the dbt models build them, and readers for the write-back's tables.

Tests of the write-back create `main.sync_hubspot__companies` / `main.sync_salesforce__accounts`
in a temporary DuckDB file with the contract's columns, change rows between runs, and compare
what the CRM holds with the warehouse and with `writeback.sync_state`.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

HUBSPOT_COLUMNS = (
    "account_id",
    "hubspot_company_id",
    "health_score",
    "health_status",
    "health_trend",
    "health_score_change_30d",
    "health_drivers",
    "churn_probability",
    "health_override",
    "health_updated_at",
    "config_version",
)
SALESFORCE_COLUMNS = (
    "account_id",
    "salesforce_account_id",
    "Health_Score__c",
    "Health_Status__c",
    "Health_Trend__c",
    "Health_Score_Change_30d__c",
    "Health_Drivers__c",
    "Churn_Probability__c",
    "Health_Override__c",
    "Health_Updated_At__c",
    "config_version",
)
TYPES = (
    "varchar",
    "varchar",
    "double",
    "varchar",
    "varchar",
    "double",
    "varchar",
    "double",
    "varchar",
    "timestamp",
    "varchar",
)
MODELS = {
    "hubspot": ("main.sync_hubspot__companies", HUBSPOT_COLUMNS),
    "salesforce": ("main.sync_salesforce__accounts", SALESFORCE_COLUMNS),
}
STATUSES = ("green", "yellow", "red", "insufficient_data")
TRENDS = ("improving", "stable", "declining")
FIELD_NAMES = HUBSPOT_COLUMNS[2:10]  # the eight CRM fields, canonical names


@dataclass(frozen=True)
class HealthRow:
    account_id: str
    record_id: str | None
    health_score: float
    health_status: str
    health_trend: str
    health_score_change_30d: float | None
    health_drivers: str
    churn_probability: float | None
    health_override: str | None
    health_updated_at: datetime
    config_version: str = "weights-v1"


def sample_rows(record_ids: list[str | None], *, day: int = 0) -> list[HealthRow]:
    """Deterministic, varied rows; `day` moves the timestamp only (not a reason to send)."""
    stamp = datetime(2024, 5, 1, 6, 0, 0) + timedelta(days=day)
    rows = []
    for i, record_id in enumerate(record_ids):
        rows.append(
            HealthRow(
                account_id=f"acct-{i:05d}",
                record_id=record_id,
                health_score=round((i * 37 % 1000) / 10, 1),
                health_status=STATUSES[i % 4],
                health_trend=TRENDS[i % 3],
                health_score_change_30d=None if i % 5 == 0 else round((i % 21) - 10.5, 1),
                health_drivers=f"logins {i % 7} days/week; tickets {i % 4}",
                churn_probability=None if i % 6 == 0 else round((i % 97) / 97, 4),
                health_override="red: exec sponsor left" if i % 11 == 0 else None,
                health_updated_at=stamp,
            )
        )
    return rows


def rescored(row: HealthRow, delta: float = 1.0) -> HealthRow:
    """The same account with a different score (a change the sync must send)."""
    score = round(min(100.0, max(0.0, row.health_score + delta)), 1)
    if score == row.health_score:
        score = round(row.health_score - delta, 1)
    return _replace(row, health_score=score)


def _replace(row: HealthRow, **changes: Any) -> HealthRow:
    values = {f.name: getattr(row, f.name) for f in fields(row)} | changes
    return HealthRow(**values)


def write_model(warehouse: Path, destination: str, rows: list[HealthRow]) -> None:
    """(Re)create the destination's sync model with these rows."""
    table, columns = MODELS[destination]
    ddl = ", ".join(f"{c} {t}" for c, t in zip(columns, TYPES, strict=True))
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"create or replace table {table} ({ddl})")
        if rows:
            placeholders = ", ".join("?" * len(columns))
            values = ", ".join([f"({placeholders})"] * len(rows))
            con.execute(
                f"insert into {table} values {values}", [v for r in rows for v in astuple(r)]
            )
    finally:
        con.close()


def query(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def state_values(warehouse: Path, destination: str) -> dict[str, dict[str, str]]:
    """record id → the field values `writeback.sync_state` says the CRM confirmed."""
    rows = query(
        warehouse,
        "select record_id, field_values from writeback.sync_state where destination = ?",
        [destination],
    )
    return {record_id: json.loads(values) for record_id, values in rows}


def hubspot_expected(row: HealthRow) -> dict[str, str]:
    """What HubSpot should hold for a row: property values are strings, "" for null."""
    expected = {}
    for name in FIELD_NAMES:
        value = getattr(row, name)
        if value is None:
            expected[name] = ""
        elif isinstance(value, datetime):
            expected[name] = value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        elif isinstance(value, float):
            expected[name] = f"{value:g}" if value != int(value) else str(int(value))
        else:
            expected[name] = value
    return expected


def salesforce_expected(row: HealthRow) -> dict[str, Any]:
    """What Salesforce should hold for a row, keyed by its field names."""
    expected = {}
    for name, sf_name in zip(FIELD_NAMES, SALESFORCE_COLUMNS[2:10], strict=True):
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        expected[sf_name] = value
    return expected


def hubspot_crm_values(server: Any, record_id: str) -> dict[str, str]:
    """The eight fields as a HubSpot portal holds them ("" for unset)."""
    held = server.get("companies", record_id)
    return {name: held.get(name) or "" for name in FIELD_NAMES}


def salesforce_crm_values(server: Any, record_id: str) -> dict[str, Any]:
    held = server.get("Account", record_id)
    return {name: held.get(name) for name in SALESFORCE_COLUMNS[2:10]}


def state_as_salesforce(values: dict[str, str]) -> dict[str, Any]:
    """State (canonical strings) in Salesforce's stored form, to compare with the org."""
    converted: dict[str, Any] = {}
    for name, sf_name in zip(FIELD_NAMES, SALESFORCE_COLUMNS[2:10], strict=True):
        value = values[name]
        if value == "":
            converted[sf_name] = None
        elif name in ("health_score", "health_score_change_30d", "churn_probability"):
            converted[sf_name] = float(value)
        elif name == "health_updated_at":
            converted[sf_name] = value.replace("Z", "+0000")
        else:
            converted[sf_name] = value
    return converted
