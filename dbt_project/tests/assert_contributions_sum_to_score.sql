{{ config(meta={'dagster': {'ref': {'name': 'fct_account_health_daily'}}}) }}
-- The published score is exactly the sum of its signals' contributions (before the gate's cap).
with

contributions as (
    select
        account_id,
        date_day,
        sum(contribution) as contribution_total
    from {{ ref('fct_account_signals_daily') }}
    group by account_id, date_day
),

health as (
    select * from {{ ref('fct_account_health_daily') }}
)

select
    health.account_id,
    health.date_day,
    health.score_uncapped,
    contributions.contribution_total
from health
inner join contributions
    on
        health.account_id = contributions.account_id
        and health.date_day = contributions.date_day
where
    -- the published score is rounded to one decimal
    abs(coalesce(health.score_uncapped, -1) - coalesce(contributions.contribution_total, -1))
    > 0.0501
