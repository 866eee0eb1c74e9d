"""The usage-depth signals, recomputed the slow obvious way from attributed events and compared
with what the sweep-line models published for every account-day."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import BuiltWarehouse

# Both read the product events of the trailing 28 days (signal_definitions.csv).
WINDOW_DAYS = 28

RECOMPUTED = f"""
with user_days as (
    select account_id, user_id, event_date, sum(quantity) as events
    from main.int_events__attributed
    where user_id is not null
    group by all
),
per_day as (
    select
        d.account_id,
        d.date_day,
        d.days_as_customer,
        count(u.user_id) as user_days,
        count(distinct u.user_id) as users,
        sum(u.events) as events
    from main.int_account_days as d
    left join user_days as u
        on u.account_id = d.account_id
        and u.event_date > d.date_day - {WINDOW_DAYS}
        and u.event_date <= d.date_day
    group by all
)
select
    account_id,
    date_day,
    case
        when users > 0 then user_days / (least({WINDOW_DAYS}, days_as_customer) * users)
        else 0.0
    end as user_stickiness,
    case when user_days > 0 then events / user_days end as usage_intensity
from per_day
"""


def _published(signal: str) -> str:
    return (
        "select account_id, date_day, raw_value from main.fct_account_signals_daily "
        f"where signal = '{signal}'"
    )


@pytest.mark.parametrize("signal", ["user_stickiness", "usage_intensity"])
def test_usage_depth_signals_match_a_direct_recount(built_warehouse: BuiltWarehouse, signal):
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        published, compared, wrong, example = con.execute(
            f"""
            with expected as ({RECOMPUTED}), published as ({_published(signal)}),
            paired as (
                select
                    p.account_id,
                    p.date_day,
                    p.raw_value,
                    e.{signal} as recount,
                    e.account_id is not null as has_recount,
                    (p.raw_value is null) <> (e.{signal} is null)
                    or abs(p.raw_value - e.{signal}) > 1e-5 * greatest(1, abs(e.{signal}))
                    as differs
                from published as p
                left join expected as e using (account_id, date_day)
            )
            select
                count(*),
                count(*) filter (where has_recount),
                count(*) filter (where has_recount and differs),
                any_value(
                    account_id || ' ' || date_day || ': ' || coalesce(raw_value, -1)
                    || ' vs ' || coalesce(recount, -1)
                ) filter (where has_recount and differs)
            from paired
            """
        ).fetchone()
    assert compared == published > 10_000
    assert wrong == 0, example


def test_depth_of_use_separates_accounts_that_later_churned(built_warehouse: BuiltWarehouse):
    """Three months before a renewal, accounts that went on to churn used the product less
    deeply and less habitually than those that renewed."""
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select churned, avg(user_stickiness), avg(usage_intensity)
            from main.fct_calibration_observations
            where horizon_days = 90
            group by churned order by churned
            """
        ).fetchall()
    (_, sticky_renewed, depth_renewed), (_, sticky_churned, depth_churned) = rows
    assert sticky_churned < 0.8 * sticky_renewed
    assert depth_churned < 0.8 * depth_renewed
