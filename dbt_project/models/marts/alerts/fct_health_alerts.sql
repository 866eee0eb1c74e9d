-- One row per alert event (DESIGN §9), decided from the daily health history:
--   entered_red        the published status turned red (hysteresis already applied);
--   score_drop         the score fell by at least `alert_drop_points` within `trend_days`;
--   red_near_renewal   red with the contract ending within `alert_renewal_days`.
-- Cooldown: a kind alerts when its condition holds after at least `alert_cooldown_days` days
-- without it, so a score oscillating around a threshold alerts once, and a lasting condition
-- does not nag daily. Defined on the history alone, so a rebuild yields the same alert ids.
with

health as (
    select * from {{ ref('fct_account_health_daily') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

contracts as (
    select * from {{ ref('int_signals__contracts') }}
),

daily as (
    select
        health.*,
        contracts.renewal_date,
        lag(health.health_status) over (
            partition by health.account_id order by health.date_day
        ) as status_yesterday
    from health
    left join contracts
        on
            health.account_id = contracts.account_id
            and health.date_day = contracts.date_day
),

conditions as (
    select
        account_id,
        date_day,
        'entered_red' as alert_kind,
        health_status = 'red' and coalesce(status_yesterday, '') <> 'red' as is_met
    from daily
    union all
    select
        account_id,
        date_day,
        'score_drop' as alert_kind,
        coalesce(score_change_30d <= -{{ var('alert_drop_points') }}, false) as is_met
    from daily
    union all
    select
        account_id,
        date_day,
        'red_near_renewal' as alert_kind,
        health_status = 'red'
        and renewal_date is not null
        and {{ dbt.datediff('date_day', 'renewal_date', 'day') }}
        <= {{ var('alert_renewal_days') }} as is_met
    from daily
),

cooled as (
    select
        *,
        max(case when is_met then date_day end) over (
            partition by account_id, alert_kind order by date_day
            rows between unbounded preceding and 1 preceding
        ) as last_met_before
    from conditions
),

fired as (
    select
        account_id,
        date_day,
        alert_kind,
        {{ dbt.concat([
            'account_id', "'|'", 'alert_kind', "'|'",
            'cast(date_day as ' ~ dbt.type_string() ~ ')',
        ]) }} as alert_key
    from cooled
    where
        is_met
        and (
            last_met_before is null
            or {{ dbt.datediff('last_met_before', 'date_day', 'day') }}
            > {{ var('alert_cooldown_days') }}
        )
),

final as (
    select
        {{ dbt.hash('fired.alert_key') }} as alert_id,
        fired.account_id,
        accounts.account_name,
        fired.alert_kind,
        fired.date_day as alert_date,
        accounts.segment,
        accounts.owner_id,
        accounts.owner_email,
        accounts.arr,
        daily.renewal_date,
        daily.score_30d_ago as score_before,
        daily.health_score as score_after,
        daily.status_30d_ago as status_before,
        daily.health_status as status_after,
        accounts.crm_company_id,
        daily.driver_1_signal,
        daily.driver_1_text,
        daily.driver_1_before,
        daily.driver_1_after,
        daily.driver_2_signal,
        daily.driver_2_text,
        daily.driver_2_before,
        daily.driver_2_after,
        daily.driver_3_signal,
        daily.driver_3_text,
        daily.driver_3_before,
        daily.driver_3_after,
        daily.config_version
    from fired
    inner join daily
        on
            fired.account_id = daily.account_id
            and fired.date_day = daily.date_day
    inner join accounts
        on fired.account_id = accounts.account_id
)

select * from final
