"""The whole path on generated data: files → dlt → dbt → scores that recover the hidden truth."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq

from tests.conftest import BuiltWarehouse


def _current_status_by_archetype(built: BuiltWarehouse) -> dict[str, dict[str, int]]:
    truth = pq.read_table(built.generation.ground_truth_dir / "accounts.parquet").to_pandas()
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        current = con.execute(
            "select account_id, health_status from main.account_health_current"
        ).df()
    joined = current.merge(truth, on="account_id")
    counts: dict[str, dict[str, int]] = {}
    for (archetype, status), n in joined.groupby(["archetype", "health_status"]).size().items():
        counts.setdefault(archetype, {})[status] = int(n)
    return counts


def test_declining_accounts_are_red_and_healthy_ones_green(built_warehouse: BuiltWarehouse):
    counts = _current_status_by_archetype(built_warehouse)
    declining, healthy = counts["declining"], counts["healthy"]
    assert sum(declining.values()) >= 5 and sum(healthy.values()) >= 5, counts
    assert declining.get("green", 0) == 0, declining
    assert declining.get("red", 0) / sum(declining.values()) >= 0.75, declining
    assert healthy.get("red", 0) == 0, healthy
    assert healthy.get("green", 0) / sum(healthy.values()) >= 0.9, healthy


def test_score_tracks_hidden_health(built_warehouse: BuiltWarehouse):
    truth = built_warehouse.generation.ground_truth_dir / "account_health_daily.parquet"
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        correlation = con.execute(
            f"""
            select corr(h.health_score, t.true_health)
            from main.fct_account_health_daily as h
            inner join read_parquet('{truth}') as t
                on h.account_id = t.account_id and h.date_day = t.date
            where h.health_status <> 'insufficient_data'
            """
        ).fetchone()[0]
    assert correlation > 0.6


def test_every_customer_day_is_scored_once_and_current_rows_are_today(
    built_warehouse: BuiltWarehouse,
):
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        days, accounts = con.execute(
            "select count(distinct date_day), count(distinct account_id) "
            "from main.fct_account_health_daily"
        ).fetchone()
        latest = con.execute("select max(date_day) from main.account_health_current").fetchone()[0]
        churned_current = con.execute(
            """
            select count(*) from main.account_health_current as c
            inner join main.dim_accounts as a using (account_id)
            where a.is_churned
            """
        ).fetchone()[0]
    assert days == 300
    assert accounts == 120
    assert latest == built_warehouse.generation.end_date
    assert churned_current == 0


def test_quarantine_holds_every_planted_bad_row(built_warehouse: BuiltWarehouse):
    planted = sum(built_warehouse.generation.dirt_counts.values())
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        quarantined = con.execute("select count(*) from raw.raw_quarantine").fetchone()[0]
    assert planted > 0
    assert quarantined == planted
