-- Product-usage signals per account-day (DESIGN §5): login_frequency, active_user_ratio,
-- user_stickiness, usage_intensity, feature_adoption, core_feature_adopted (the gate) and
-- usage_trend.
with

events as (
    select * from {{ ref('int_events__attributed') }}
),

features as (
    select * from {{ ref('stg_raw__features') }}
),

spine as (
    select * from {{ ref('int_account_days') }}
),

windows as (
    select * from {{ ref('int_signal_windows') }}
),

catalogue as (
    select
        count(distinct feature_name) as feature_count,
        sum(case when is_core then 1 else 0 end) as core_event_count
    from features
),

active_days as (
    select
        account_id,
        event_date as use_date,
        sum(quantity) as event_quantity
    from events
    group by account_id, event_date
),

user_days as (
    select
        account_id,
        user_id,
        event_date as use_date,
        sum(quantity) as event_quantity
    from events
    where user_id is not null
    group by account_id, user_id, event_date
),

feature_days as (
    select distinct
        events.account_id,
        features.feature_name,
        events.event_date as use_date
    from events
    inner join features
        on events.event_name = features.event_name
),

user_presence as (
    select count(*) > 0 as has_user_ids from user_days
),

core_days as (
    select distinct
        events.account_id,
        events.event_date as use_date
    from events
    inner join features
        on events.event_name = features.event_name
    where features.is_core
),

intervals as (
    {{ window_intervals('active_days', 'active_days', 'login_frequency') }}
    union all
    {{ window_intervals(
        'user_days', 'active_users', 'active_user_ratio', distinct_by='uses.user_id'
    ) }}
    union all
    {{ window_intervals('user_days', 'user_days', 'user_stickiness') }}
    union all
    {{ window_intervals(
        'user_days', 'sticky_users', 'user_stickiness', distinct_by='uses.user_id'
    ) }}
    union all
    {{ window_intervals(
        'user_days', 'intensity_user_days', 'usage_intensity', value='uses.event_quantity'
    ) }}
    union all
    {{ window_intervals(
        'feature_days', 'features_used', 'feature_adoption', distinct_by='uses.feature_name'
    ) }}
    union all
    {{ window_intervals(
        'core_days', 'core_used', 'core_feature_adopted', distinct_by='uses.account_id'
    ) }}
    union all
    {{ window_intervals(
        'active_days', 'events_current', 'usage_trend', value='uses.event_quantity'
    ) }}
    union all
    {{ window_intervals(
        'active_days', 'events_previous', 'usage_trend', value='uses.event_quantity', windows_back=1
    ) }}
),

coverage as (
    {{ interval_coverage('intervals', 'spine') }}
),

measures as (
    select
        coverage.account_id,
        coverage.date_day,
        {{ covered('active_days') }} as active_days,
        {{ covered('active_users') }} as active_users,
        {{ covered('user_days') }} as user_days,
        {{ covered('sticky_users') }} as sticky_users,
        {{ covered('intensity_user_days') }} as intensity_user_days,
        {{ covered('intensity_user_days', 'covered_value') }} as intensity_events,
        {{ covered('features_used') }} as features_used,
        {{ covered('core_used') }} as core_uses,
        {{ covered('events_current', 'covered_value') }} as events_current,
        {{ covered('events_previous', 'covered_value') }} as events_previous
    from coverage
    group by coverage.account_id, coverage.date_day
),

window_lengths as (
    select
        max(case when signal = 'login_frequency' then window_days end) as login_window_days,
        max(case when signal = 'user_stickiness' then window_days end) as sticky_window_days,
        max(case when signal = 'usage_trend' then window_days end) as trend_window_days
    from windows
),

signals as (
    select
        spine.account_id,
        spine.date_day,
        -- young accounts are judged on the days they have had, not on a full window
        coalesce(measures.active_days, 0)
        / least(window_lengths.login_window_days, spine.days_as_customer) as login_frequency,
        case
            when coalesce(spine.seats, 0) > 0
                then least(coalesce(measures.active_users, 0) / spine.seats, 1.0)
            when spine.known_user_count > 0
                then least(coalesce(measures.active_users, 0) / spine.known_user_count, 1.0)
        end as active_user_ratio,
        -- DAU/MAU: the mean day's active users as a share of the window's active users. Seats
        -- and user lists say who may log in; this says how habitually those who do come back.
        case
            when measures.sticky_users > 0
                then
                    measures.user_days
                    / (
                        least(window_lengths.sticky_window_days, spine.days_as_customer)
                        * measures.sticky_users
                    )
            when user_presence.has_user_ids then 0.0
        end as user_stickiness,
        -- depth of use: how much a person does on a day they show up, whoever and however many
        -- they are; no active user-day in the window leaves it unknown (login_frequency says 0)
        case
            when measures.intensity_user_days > 0
                then measures.intensity_events / measures.intensity_user_days
        end as usage_intensity,
        case
            when catalogue.feature_count > 0
                then coalesce(measures.features_used, 0) / catalogue.feature_count
        end as feature_adoption,
        case
            when catalogue.core_event_count > 0
                then case when coalesce(measures.core_uses, 0) > 0 then 1.0 else 0.0 end
        end as core_feature_adopted,
        -- a ratio needs a full previous window of customer history behind it
        case
            when spine.days_as_customer < 2 * window_lengths.trend_window_days then null
            when coalesce(measures.events_previous, 0) > 0
                then coalesce(measures.events_current, 0) / measures.events_previous
            when coalesce(measures.events_current, 0) = 0 then 0.0
        end as usage_trend
    from spine
    cross join catalogue
    cross join user_presence
    cross join window_lengths
    left join measures
        on
            spine.account_id = measures.account_id
            and spine.date_day = measures.date_day
)

select * from signals
