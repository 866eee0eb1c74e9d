-- What HubSpot's company records should say (DESIGN §8): one row per current customer, the
-- company id and exactly the properties of the `customer_health` group, as their final values.
with

current_health as (
    select * from {{ ref('account_health_current') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

final as (
    select
        current_health.account_id,
        accounts.crm_company_id as hubspot_company_id,
        current_health.health_score,
        current_health.health_status,
        current_health.health_trend,
        current_health.score_change_30d as health_score_change_30d,
        current_health.drivers_text as health_drivers,
        current_health.churn_probability,
        {{ override_text('current_health') }} as health_override,
        cast(current_health.date_day as {{ dbt.type_timestamp() }}) as health_updated_at,
        current_health.config_version
    from current_health
    inner join accounts
        on current_health.account_id = accounts.account_id
    where accounts.crm_company_id is not null
)

select * from final
