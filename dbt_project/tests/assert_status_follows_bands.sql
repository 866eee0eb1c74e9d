{{ config(meta={'dagster': {'ref': {'name': 'fct_account_health_daily'}}}) }}
-- Outside the hysteresis band the computed colour is decided by the score alone.
with

health as (
    select * from {{ ref('fct_account_health_daily') }}
),

bands as (
    select * from {{ ref('status_bands') }}
)

select
    health.account_id,
    health.date_day,
    health.health_score,
    health.computed_status
from health
inner join bands
    on health.segment = bands.segment
where
    health.computed_status <> 'insufficient_data'
    and (
        (health.health_score < bands.red_below and health.computed_status <> 'red')
        or (health.health_score >= bands.green_at and health.computed_status <> 'green')
        or (
            health.health_score >= bands.red_exit_at
            and health.health_score < bands.green_at
            and health.computed_status <> 'yellow'
        )
    )
