-- renewal_risk per account-day (DESIGN §5): days until the contract in force ends; zero when no
-- contract is in force (lapsed without a recorded renewal).
with

contracts as (
    select * from {{ ref('stg_raw__contracts') }}
),

spine as (
    select * from {{ ref('int_account_days') }}
),

in_force as (
    select
        spine.account_id,
        spine.date_day,
        max(contracts.end_date) as contract_end
    from spine
    left join contracts
        on
            spine.account_id = contracts.account_id
            and spine.date_day between contracts.start_date and contracts.end_date
    group by spine.account_id, spine.date_day
),

signals as (
    select
        account_id,
        date_day,
        contract_end as renewal_date,
        cast(
            coalesce({{ dbt.datediff('date_day', 'contract_end', 'day') }}, 0)
            as {{ dbt.type_float() }}
        ) as renewal_risk
    from in_force
)

select * from signals
