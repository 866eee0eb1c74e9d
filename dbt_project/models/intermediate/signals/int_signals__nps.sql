-- NPS per account-day (DESIGN §5): the latest answer of each contact within the window,
-- averaged per account. Anonymous answers count as contacts of their own.
with

responses as (
    select * from {{ ref('stg_raw__nps_responses') }}
),

spine as (
    select * from {{ ref('int_account_days') }}
),

contact_answers as (
    select
        account_id,
        contact_id,
        responded_date as use_date,
        nps_score
    from (
        select
            account_id,
            coalesce(
                user_id,
                'anonymous:' || cast(row_number() over (order by responded_at) as varchar)
            ) as contact_id,
            responded_date,
            responded_at,
            nps_score,
            row_number() over (
                partition by account_id, coalesce(user_id, cast(responded_at as varchar)), responded_date
                order by responded_at desc
            ) as answer_rank
        from responses
    ) as ranked
    where answer_rank = 1
),

intervals as (
    {{ window_intervals(
        'contact_answers', 'nps_answers', 'nps', value='uses.nps_score', distinct_by='uses.contact_id'
    ) }}
),

coverage as (
    {{ interval_coverage('intervals', 'spine') }}
),

signals as (
    select
        spine.account_id,
        spine.date_day,
        case
            when coverage.covered_count > 0
                then coverage.covered_value / coverage.covered_count
        end as nps
    from spine
    left join coverage
        on
            spine.account_id = coverage.account_id
            and spine.date_day = coverage.date_day
)

select * from signals
