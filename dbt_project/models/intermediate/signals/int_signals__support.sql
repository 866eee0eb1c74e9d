-- Support signals per account-day (DESIGN §5): ticket_volume and ticket_sentiment.
with

tickets as (
    select * from {{ ref('stg_raw__tickets') }}
),

spine as (
    select * from {{ ref('int_account_days') }}
),

source_presence as (
    select count(*) > 0 as has_tickets from tickets
),

weighted_tickets as (
    select
        account_id,
        created_date as use_date,
        case priority
            when 'urgent' then 3.0
            when 'high' then 2.0
            else 1.0
        end as priority_weight
    from tickets
),

-- Tone on one −1..1 scale: the given (or text-derived) sentiment and the satisfaction
-- rating rescaled from 1..5, averaged over whichever the ticket has.
toned_tickets as (
    select
        account_id,
        use_date,
        tone
    from (
        select
            account_id,
            created_date as use_date,
            (coalesce(sentiment, 0) + coalesce((satisfaction - 3) / 2.0, 0))
            / nullif(
                case when sentiment is null then 0 else 1 end
                + case when satisfaction is null then 0 else 1 end,
                0
            ) as tone
        from tickets
    ) as scored
    where tone is not null
),

intervals as (
    {{ window_intervals(
        'weighted_tickets', 'weighted_tickets', 'ticket_volume', value='uses.priority_weight'
    ) }}
    union all
    {{ window_intervals('toned_tickets', 'ticket_tone', 'ticket_sentiment', value='uses.tone') }}
),

coverage as (
    {{ interval_coverage('intervals', 'spine') }}
),

measures as (
    select
        coverage.account_id,
        coverage.date_day,
        {{ covered('weighted_tickets', 'covered_value') }} as weighted_tickets,
        {{ covered('ticket_tone') }} as toned_ticket_count,
        {{ covered('ticket_tone', 'covered_value') }} as tone_sum
    from coverage
    group by coverage.account_id, coverage.date_day
),

signals as (
    select
        spine.account_id,
        spine.date_day,
        -- no ticket in the window is a good sign, but only if tickets are delivered at all
        case
            when source_presence.has_tickets
                then
                    10.0 * coalesce(measures.weighted_tickets, 0)
                    / coalesce(nullif(spine.seats, 0), nullif(spine.known_user_count, 0), 10)
        end as ticket_volume,
        case
            when measures.toned_ticket_count > 0
                then measures.tone_sum / measures.toned_ticket_count
        end as ticket_sentiment
    from spine
    cross join source_presence
    left join measures
        on
            spine.account_id = measures.account_id
            and spine.date_day = measures.date_day
)

select * from signals
