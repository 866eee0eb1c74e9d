-- Colour per account-day with hysteresis (DESIGN §6): an account is red from the day its score
-- falls below `red_below` until the first day it reaches `red_exit_at`. Written as "is the
-- newest entry into red later than the newest exit?" so it needs windows, not recursion.
with

scored as (
    select * from {{ ref('int_health__scored') }}
),

flagged as (
    select
        *,
        coalesce(coverage >= min_coverage, false) and health_score is not null as is_scored
    from scored
),

crossings as (
    select
        *,
        max(case when is_scored and health_score < red_below then date_day end) over (
            partition by account_id order by date_day
            rows between unbounded preceding and current row
        ) as last_red_entry,
        max(case when is_scored and health_score >= red_exit_at then date_day end) over (
            partition by account_id order by date_day
            rows between unbounded preceding and current row
        ) as last_red_exit
    from flagged
),

statuses as (
    select
        account_id,
        date_day,
        segment,
        config_version,
        health_score,
        score_uncapped,
        coverage,
        is_gated,
        is_scored,
        case
            when not is_scored then 'insufficient_data'
            when
                last_red_entry is not null
                and (last_red_exit is null or last_red_entry > last_red_exit) then 'red'
            when health_score >= green_at then 'green'
            else 'yellow'
        end as computed_status
    from crossings
)

select * from statuses
