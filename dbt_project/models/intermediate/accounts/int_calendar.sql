-- One row per scored day: the `history_days` days up to the scoring day, but none before the
-- first product event (days without any data would read as customers gone quiet).
with

events as (
    select * from {{ ref('int_events__attributed') }}
),

digits as (
    select 0 as n
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

offsets as (
    select ones.n + 10 * tens.n + 100 * hundreds.n + 1000 * thousands.n as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
),

scoring_day as (
    select
        {{ as_of_date() }} as as_of_date,
        (select min(event_date) from events) as first_event_date
),

calendar as (
    select
        cast({{ dbt.dateadd('day', '-offsets.day_offset', 'scoring_day.as_of_date') }} as date)
            as date_day,
        scoring_day.as_of_date
    from offsets
    cross join scoring_day
    where
        offsets.day_offset < {{ var('history_days') }}
        and {{ dbt.dateadd('day', '-offsets.day_offset', 'scoring_day.as_of_date') }}
        >= scoring_day.first_event_date
)

select * from calendar
