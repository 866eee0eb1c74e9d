"""The storm guard (DESIGN §9): hold a run's customer alerts when they are more likely a data
problem than a customer problem, tell operations once, and let a person release or drop them.

A run is held when its new alerts come with stale sources (dbt source freshness failed), or when
more than a configured share of active accounts would alert at once (default 10 %). When the
number of active accounts cannot be read, the share cannot be checked, so the run is held too:
an unexplained silence is cheaper than a storm in every CSM's channel.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from healthscore.alerts import outbox
from healthscore.alerts.alert import Alert

# The population the share is taken of: today's current (not churned) customers.
ACTIVE_ACCOUNTS_SQL = "select count(distinct account_id) from main.account_health_current"
_STALE = {"error", "runtime error"}


@dataclass(frozen=True)
class StormCheck:
    alerting_accounts: int
    active_accounts: int | None
    threshold: float
    stale_sources: tuple[str, ...] = ()

    @property
    def share(self) -> float | None:
        if not self.active_accounts:
            return None
        return self.alerting_accounts / self.active_accounts

    @property
    def reasons(self) -> tuple[str, ...]:
        if not self.alerting_accounts:
            return ()
        reasons = []
        if self.stale_sources:
            reasons.append(f"sources failed dbt freshness: {', '.join(self.stale_sources)}")
        share = self.share
        if share is None:
            reasons.append(
                f"{self.alerting_accounts} accounts would alert, and the number of active "
                "accounts is unknown, so the share cannot be checked"
            )
        elif share > self.threshold:
            reasons.append(
                f"{self.alerting_accounts} of {self.active_accounts} active accounts "
                f"({share:.0%}) would alert; the limit is {self.threshold:.0%}"
            )
        return tuple(reasons)

    @property
    def hold(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class HoldSummary:
    run_id: str
    reasons: tuple[str, ...]
    held_alerts: int
    largest_accounts: tuple[tuple[str, float | None], ...]

    @property
    def key(self) -> str:
        """The summary's id in the outbox, so it is delivered exactly once like an alert."""
        return hold_key(self.run_id)


def hold_key(run_id: str) -> str:
    return f"hold-{run_id}"


def check(
    alerts: Sequence[Alert],
    *,
    threshold: float,
    active_accounts: int | None,
    stale_sources: Sequence[str] = (),
) -> StormCheck:
    return StormCheck(
        alerting_accounts=len({a.account_id for a in alerts}),
        active_accounts=active_accounts,
        threshold=threshold,
        stale_sources=tuple(stale_sources),
    )


def count_active_accounts(con: duckdb.DuckDBPyConnection) -> int | None:
    """None when the model is missing; run it outside a transaction, which an error aborts."""
    try:
        return con.execute(ACTIVE_ACCOUNTS_SQL).fetchone()[0]
    except (duckdb.CatalogException, duckdb.BinderException):
        return None


def stale_sources_from_dbt(sources_json: Path) -> tuple[str, ...]:
    """Sources that failed `dbt source freshness`, read from its `target/sources.json`."""
    results = json.loads(sources_json.read_text(encoding="utf-8")).get("results", [])
    return tuple(r["unique_id"].split(".", 2)[-1] for r in results if r.get("status") in _STALE)


def hold_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> HoldSummary:
    reasons, held = con.execute(
        "select hold_reasons, held_alerts from alerts.runs where run_id = ?", [run_id]
    ).fetchone()
    largest = con.execute(
        """
        select coalesce(any_value(account_name), account_id), max(arr)
        from alerts.outbox as o
        where run_id = ?
          and exists (select 1 from alerts.deliveries as d where d.alert_id = o.alert_id)
        group by account_id
        order by max(arr) desc nulls last, account_id
        limit 10
        """,
        [run_id],
    ).fetchall()
    return HoldSummary(run_id, tuple(json.loads(reasons or "[]")), held or 0, tuple(largest))


def release_held(
    warehouse: Path, *, run_id: str | None = None, now: dt.datetime | None = None
) -> int:
    """Let held alerts go out on the next delivery (all held runs, or one). Returns how many."""
    return _settle(warehouse, run_id, outbox.PENDING, "released", now)


def discard_held(
    warehouse: Path, *, run_id: str | None = None, now: dt.datetime | None = None
) -> int:
    """Drop held alerts for good (the batch was caused by bad data). Returns how many."""
    return _settle(warehouse, run_id, outbox.DISCARDED, "discarded", now)


def held_runs(warehouse: Path) -> list[dict[str, Any]]:
    """Runs whose alerts are still held, for a Dagster check or a CLI listing."""
    with outbox.connect(warehouse) as con:
        rows = con.execute(
            """
            select run_id, started_at, held_alerts, hold_reasons from alerts.runs
            where held and settled is null order by started_at
            """
        ).fetchall()
    return [
        {"run_id": r, "started_at": s, "held_alerts": n, "reasons": json.loads(why or "[]")}
        for r, s, n, why in rows
    ]


def _settle(
    warehouse: Path, run_id: str | None, status: str, action: str, now: dt.datetime | None
) -> int:
    now = outbox.utc(now or dt.datetime.now(dt.UTC))
    scope, params = ("", []) if run_id is None else (" and run_id = ?", [run_id])
    with outbox.connect(warehouse) as con:
        con.begin()
        settled = con.execute(
            f"""
            update alerts.deliveries set status = ?, updated_at = ?
            where status = 'held'{scope} returning alert_id
            """,
            [status, now, *params],
        ).fetchall()
        con.execute(
            f"""
            update alerts.runs set settled = ?, settled_at = ?
            where held and settled is null{scope}
            """,
            [action, now, *params],
        )
        con.commit()
    return len(settled)
