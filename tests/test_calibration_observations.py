"""The dbt training set is point-in-time: nothing after an observation's as-of date leaks in."""

from __future__ import annotations

from pathlib import Path

import duckdb

from healthscore.dbt_runner import run_dbt
from tests.conftest import BuiltWarehouse

SIGNALS = (
    "login_frequency, active_user_ratio, user_stickiness, usage_intensity, feature_adoption, "
    "usage_trend, ticket_volume, "
    "ticket_sentiment, nps, email_engagement, executive_engagement, qbr_attendance, "
    "renewal_risk, core_feature_adopted, template_score"
)


def _observations(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"select decision_id, horizon_days, as_of_date, {SIGNALS} "
            "from main.fct_calibration_observations order by decision_id, horizon_days"
        ).fetchall()


def test_observations_are_taken_horizon_days_before_the_scheduled_renewal(
    built_warehouse: BuiltWarehouse,
):
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        wrong, horizons, outcomes = con.execute(
            """
            select
                count(*) filter (where o.as_of_date <> c.end_date - o.horizon_days),
                list(distinct o.horizon_days order by o.horizon_days),
                list(distinct o.outcome order by o.outcome)
            from main.fct_calibration_observations as o
            inner join raw.raw_contracts as c on o.decision_id = c.contract_id
            """
        ).fetchone()
    assert wrong == 0
    assert horizons == [60, 90]
    assert outcomes == ["churned", "renewed"]


def test_a_planted_future_event_changes_no_observation(
    built_warehouse: BuiltWarehouse, tmp_path: Path
):
    """Flood every account with product activity and NPS answers dated after the last of its
    as-of dates: every observation must keep exactly the values it had."""
    warehouse = built_warehouse.copy(tmp_path)
    before = _observations(warehouse)
    assert before, "the generated data must hold renewal decisions"
    with duckdb.connect(str(warehouse)) as con:
        planted = con.execute(
            """
            insert into raw.raw_events (account_id, event_name, occurred_at, user_id, event_id,
                                        quantity, _source_file, _source_row)
            select o.account_id, f.event_name, o.last_as_of + interval 1 day + interval 9 hour,
                   'planted-user', 'planted-' || o.account_id || '-' || f.event_name,
                   500, 'planted', 0
            from (
                select account_id, max(as_of_date) as last_as_of
                from main.fct_calibration_observations group by account_id
            ) as o
            cross join raw.raw_features as f
            """
        ).fetchone()[0]
        con.execute(
            """
            insert into raw.raw_nps_responses (account_id, score, responded_at, user_id,
                                               _source_file, _source_row)
            select account_id, 0, max(as_of_date) + interval 1 day, 'planted-user', 'planted', 0
            from main.fct_calibration_observations
            group by account_id
            """
        )
    assert planted > 0
    run_dbt(
        ["build", "--exclude", "test_type:data"],
        warehouse=warehouse,
        target_path=tmp_path / "target",
        quiet=True,
    )
    assert _observations(warehouse) == before
