-- When each account was a customer: from its start to its churn (or the scoring day).
with

accounts as (
    select * from {{ ref('stg_raw__accounts') }}
),

contracts as (
    select * from {{ ref('stg_raw__contracts') }}
),

events as (
    select * from {{ ref('int_events__attributed') }}
),

calendar_bounds as (
    select
        min(date_day) as history_start,
        max(date_day) as as_of_date
    from {{ ref('int_calendar') }}
),

first_events as (
    select
        account_id,
        min(event_date) as first_event_date
    from events
    group by account_id
),

contracts_ranked as (
    select
        *,
        row_number() over (
            partition by account_id order by end_date desc, start_date desc
        ) as recency_rank,
        min(start_date) over (partition by account_id) as first_contract_start
    from contracts
),

latest_contracts as (
    select * from contracts_ranked
    where recency_rank = 1
),

lifecycle as (
    select
        accounts.account_id,
        coalesce(
            cast(accounts.created_at as date),
            latest_contracts.first_contract_start,
            first_events.first_event_date
        ) as customer_since,
        case
            when latest_contracts.outcome = 'churned'
                then coalesce(latest_contracts.outcome_date, latest_contracts.end_date)
        end as churned_on,
        latest_contracts.contract_id as latest_contract_id,
        latest_contracts.end_date as latest_contract_end,
        latest_contracts.outcome as latest_contract_outcome,
        calendar_bounds.history_start,
        calendar_bounds.as_of_date
    from accounts
    cross join calendar_bounds
    left join latest_contracts
        on accounts.account_id = latest_contracts.account_id
    left join first_events
        on accounts.account_id = first_events.account_id
),

final as (
    select
        account_id,
        customer_since,
        churned_on,
        latest_contract_id,
        latest_contract_end,
        latest_contract_outcome,
        as_of_date,
        churned_on is not null and churned_on <= as_of_date as is_churned,
        greatest(history_start, coalesce(customer_since, history_start)) as first_scored_day,
        least(as_of_date, coalesce(churned_on, as_of_date)) as last_scored_day
    from lifecycle
)

select * from final
