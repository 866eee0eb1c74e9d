with

statuses as (
    select * from {{ ref('int_health__status') }}
),

drivers as (
    select * from {{ ref('int_health__drivers') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

overrides as (
    select * from {{ ref('stg_raw__overrides') }}
),

churn_calibration as (
    select * from {{ ref('churn_calibration') }}
),

trended as (
    select
        *,
        lag(case when is_scored then health_score end, {{ var('trend_days') }}) over (
            partition by account_id order by date_day
        ) as score_before,
        lag(computed_status, {{ var('trend_days') }}) over (
            partition by account_id order by date_day
        ) as computed_status_before
    from statuses
),

-- An override is in force until it expires; the newest-expiring one wins.
overrides_in_force as (
    select
        account_id,
        date_day,
        override_status,
        override_reason,
        override_expires_at
    from (
        select
            trended.account_id,
            trended.date_day,
            overrides.override_status,
            overrides.override_reason,
            overrides.expires_at as override_expires_at,
            row_number() over (
                partition by trended.account_id, trended.date_day
                order by overrides.expires_at desc
            ) as override_rank
        from trended
        inner join overrides
            on
                trended.account_id = overrides.account_id
                and trended.date_day <= cast(overrides.expires_at as date)
    ) as ranked
    where override_rank = 1
),

final as (
    select
        trended.account_id,
        trended.date_day,
        trended.segment,
        trended.config_version,
        trended.health_score,
        trended.score_uncapped,
        trended.coverage,
        trended.is_gated,
        trended.computed_status,
        overrides_in_force.override_status,
        overrides_in_force.override_reason,
        overrides_in_force.override_expires_at,
        coalesce(overrides_in_force.override_status, trended.computed_status) as health_status,
        round(trended.score_before, 1) as score_30d_ago,
        trended.computed_status_before as status_30d_ago,
        round(trended.health_score - trended.score_before, 1) as score_change_30d,
        case
            when trended.health_score - trended.score_before >= {{ var('trend_threshold') }}
                then 'improving'
            when trended.health_score - trended.score_before <= -{{ var('trend_threshold') }}
                then 'declining'
            else 'stable'
        end as health_trend,
        churn_calibration.churn_probability,
        accounts.arr,
        churn_calibration.churn_probability * accounts.arr as arr_at_risk,
        drivers.driver_1_signal,
        drivers.driver_1_before,
        drivers.driver_1_after,
        drivers.driver_1_contribution_change,
        drivers.driver_1_text,
        drivers.driver_2_signal,
        drivers.driver_2_before,
        drivers.driver_2_after,
        drivers.driver_2_contribution_change,
        drivers.driver_2_text,
        drivers.driver_3_signal,
        drivers.driver_3_before,
        drivers.driver_3_after,
        drivers.driver_3_contribution_change,
        drivers.driver_3_text,
        drivers.drivers_text
    from trended
    inner join accounts
        on trended.account_id = accounts.account_id
    left join drivers
        on
            trended.account_id = drivers.account_id
            and trended.date_day = drivers.date_day
            and trended.score_before is not null
    left join overrides_in_force
        on
            trended.account_id = overrides_in_force.account_id
            and trended.date_day = overrides_in_force.date_day
    left join churn_calibration
        on
            trended.segment = churn_calibration.segment
            and trended.config_version = churn_calibration.config_version
            and trended.is_scored
            and trended.health_score >= churn_calibration.score_lower
            and (
                trended.health_score < churn_calibration.score_upper
                or (churn_calibration.score_upper >= 100 and trended.health_score <= 100)
            )
)

select * from final
