-- The dense daily spine every signal is computed on: one row per account per customer day.
with

accounts as (
    select * from {{ ref('stg_raw__accounts') }}
),

lifecycle as (
    select * from {{ ref('int_account_lifecycle') }}
),

calendar as (
    select * from {{ ref('int_calendar') }}
),

users as (
    select * from {{ ref('int_users__attributed') }}
),

configured_segments as (
    select distinct segment from {{ ref('signal_weights') }}
),

known_users as (
    select
        account_id,
        count(*) as known_user_count
    from users
    group by account_id
),

accounts_configured as (
    select
        accounts.account_id,
        accounts.seats,
        coalesce(configured_segments.segment, '{{ var("default_segment") }}') as segment
    from accounts
    left join configured_segments
        on accounts.segment = configured_segments.segment
),

spine as (
    select
        accounts_configured.account_id,
        calendar.date_day,
        lifecycle.first_scored_day as first_day,
        accounts_configured.segment,
        accounts_configured.seats,
        coalesce(known_users.known_user_count, 0) as known_user_count
    from accounts_configured
    inner join lifecycle
        on accounts_configured.account_id = lifecycle.account_id
    inner join calendar
        on calendar.date_day between lifecycle.first_scored_day and lifecycle.last_scored_day
    left join known_users
        on accounts_configured.account_id = known_users.account_id
),

days_counted as (
    select
        *,
        {{ dbt.datediff('first_day', 'date_day', 'day') }} + 1 as days_as_customer  -- noqa: LT05
    from spine
)

select * from days_counted
