-- Relationship signals per account-day (DESIGN §5): email_engagement, executive_engagement and
-- qbr_attendance, from CSM email events, meetings and which contacts are executives.
with

email_events as (
    select * from {{ ref('stg_raw__email_events') }}
),

meetings as (
    select * from {{ ref('stg_raw__meetings') }}
),

users as (
    select * from {{ ref('int_users__attributed') }}
),

spine as (
    select * from {{ ref('int_account_days') }}
),

windows as (
    select * from {{ ref('int_signal_windows') }}
),

email_days as (
    select
        account_id,
        event_date as use_date,
        sum(case when email_event_type = 'sent' then 1 else 0 end) as sent_count,
        sum(case when email_event_type in ('open', 'reply') then 1 else 0 end) as engaged_count
    from email_events
    group by account_id, event_date
),

qbrs as (
    select
        account_id,
        meeting_date as use_date,
        case when was_attended then 1.0 else 0.0 end as attended
    from meetings
    where meeting_type = 'qbr'
),

executive_replies as (
    select
        email_events.account_id,
        email_events.event_date as use_date
    from email_events
    inner join users
        on
            email_events.account_id = users.account_id
            and email_events.contact_email = users.email
    where
        email_events.email_event_type = 'reply'
        and users.is_executive
),

executive_touches as (
    select distinct
        account_id,
        use_date
    from (
        select
            account_id,
            meeting_date as use_date
        from meetings
        where executive_attended
        union all
        select
            account_id,
            use_date
        from executive_replies
    ) as touches
),

-- From the first meeting or email on, silence from executives is a measurable fact.
first_contacts as (
    select
        account_id,
        min(use_date) as use_date
    from (
        select
            account_id,
            meeting_date as use_date
        from meetings
        union all
        select
            account_id,
            event_date as use_date
        from email_events
    ) as contacts
    group by account_id
),

intervals as (
    {{ window_intervals('email_days', 'emails_sent', 'email_engagement', value='uses.sent_count') }}
    union all
    {{ window_intervals('email_days', 'emails_engaged', 'email_engagement', value='uses.engaged_count') }}
    union all
    {{ window_intervals('qbrs', 'qbr_attended', 'qbr_attendance', value='uses.attended') }}
    union all
    {{ window_intervals(
        'executive_touches', 'last_executive_touch', 'executive_engagement',
        value=day_number('uses.use_date'), distinct_by='uses.account_id'
    ) }}
    union all
    select
        account_id,
        'contact_seen' as metric,
        use_date as valid_from,
        cast('9999-12-31' as date) as valid_to,
        1.0 as value
    from first_contacts
),

coverage as (
    {{ interval_coverage('intervals', 'spine') }}
),

measures as (
    select
        coverage.account_id,
        coverage.date_day,
        {{ covered('emails_sent', 'covered_value') }} as emails_sent,
        {{ covered('emails_engaged', 'covered_value') }} as emails_engaged,
        {{ covered('qbr_attended') }} as qbrs_held,
        {{ covered('qbr_attended', 'covered_value') }} as qbrs_attended,
        {{ covered('last_executive_touch') }} as executive_touch_count,
        {{ covered('last_executive_touch', 'covered_value') }} as last_executive_touch_day,
        {{ covered('contact_seen') }} as contact_seen
    from coverage
    group by coverage.account_id, coverage.date_day
),

executive_window as (
    select window_days from windows
    where signal = 'executive_engagement'
),

signals as (
    select
        spine.account_id,
        spine.date_day,
        case
            when measures.emails_sent > 0 then measures.emails_engaged / measures.emails_sent
        end as email_engagement,
        case
            when measures.executive_touch_count > 0
                then {{ day_number('spine.date_day') }} - measures.last_executive_touch_day
            when measures.contact_seen > 0 then executive_window.window_days
        end as executive_engagement,
        case
            when measures.qbrs_held > 0 then measures.qbrs_attended / measures.qbrs_held
        end as qbr_attendance
    from spine
    cross join executive_window
    left join measures
        on
            spine.account_id = measures.account_id
            and spine.date_day = measures.date_day
)

select * from signals
