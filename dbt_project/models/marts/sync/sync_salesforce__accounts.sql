-- noqa: disable=CP02
-- Salesforce API names keep their case, so the columns do too.
-- What Salesforce's Account records should say (DESIGN §8): the same fields as HubSpot under the
-- custom-field API names a Salesforce admin creates.
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
        accounts.crm_company_id as salesforce_account_id,
        current_health.health_score as Health_Score__c,
        current_health.health_status as Health_Status__c,
        current_health.health_trend as Health_Trend__c,
        current_health.score_change_30d as Health_Score_Change_30d__c,
        current_health.drivers_text as Health_Drivers__c,
        current_health.churn_probability as Churn_Probability__c,
        {{ override_text('current_health') }} as Health_Override__c,
        cast(current_health.date_day as {{ dbt.type_timestamp() }}) as Health_Updated_At__c,
        current_health.config_version
    from current_health
    inner join accounts
        on current_health.account_id = accounts.account_id
    where accounts.crm_company_id is not null
)

select * from final
