-- Today's health of every current customer: the row CSMs see in the CRM. A company deleted in
-- the CRM (archived) is no current customer, and there is no record left to write to.
with

health as (
    select * from {{ ref('fct_account_health_daily') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

scoring_day as (
    select max(date_day) as as_of_date from health
),

final as (
    select
        accounts.account_name,
        accounts.owner_email,
        accounts.renewal_date,
        health.*
    from health
    inner join scoring_day
        on health.date_day = scoring_day.as_of_date
    inner join accounts
        on health.account_id = accounts.account_id
    where not accounts.is_churned and not accounts.is_archived
)

select * from final
