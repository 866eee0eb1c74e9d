-- depends_on: {{ ref('signal_definitions') }}
-- The point-in-time training set (DESIGN §7): one row per renewal decision and horizon, with
-- every signal score as of `decision_date − horizon`. Only rows of that day are joined, and every
-- signal is a trailing window, so nothing after the as-of date can leak in.
{%- set signals = configured_signals() %}

with

contracts as (
    select * from {{ ref('stg_raw__contracts') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

signal_scores as (
    select * from {{ ref('fct_account_signals_daily') }}
),

health as (
    select * from {{ ref('fct_account_health_daily') }}
),

horizons as (
    select {{ var('calibration_horizons') | join(' as horizon_days union all select ') }} as horizon_days
),

decisions as (
    select
        contract_id as decision_id,
        account_id,
        outcome,
        -- the scheduled renewal day, not the day the outcome was recorded: renewals are often
        -- signed early and churns land on the end date, so anchoring on the outcome date would
        -- let "days to renewal" at the as-of date tell the outcome
        end_date as decision_date,
        coalesce(outcome_date, end_date) as outcome_date,
        contract_arr
    from contracts
    where outcome in ('renewed', 'churned')
),

observations as (
    select
        decisions.decision_id,
        decisions.account_id,
        decisions.outcome,
        decisions.decision_date,
        decisions.outcome_date,
        decisions.contract_arr,
        horizons.horizon_days,
        cast(
            {{ dbt.dateadd('day', '-horizons.horizon_days', 'decisions.decision_date') }} as date
        ) as as_of_date
    from decisions
    cross join horizons
),

signals_as_of as (
    select
        observations.decision_id,
        observations.horizon_days,
        {%- for signal in signals %}
        max(case when signal_scores.signal = '{{ signal }}' then signal_scores.signal_score end)
            as {{ signal }},
        {%- endfor %}
        max(case when signal_scores.is_gate then signal_scores.raw_value end) as core_feature_raw
    from observations
    inner join signal_scores
        on
            observations.account_id = signal_scores.account_id
            and observations.as_of_date = signal_scores.date_day
    group by observations.decision_id, observations.horizon_days
),

final as (
    select
        observations.decision_id,
        observations.account_id,
        health.segment,
        observations.decision_date,
        observations.outcome_date,
        observations.outcome,
        case when observations.outcome = 'churned' then 1 else 0 end as churned,
        observations.horizon_days,
        observations.as_of_date,
        coalesce(observations.contract_arr, accounts.arr) as arr,
        -- null when the catalogue has no core features: the gate then does not apply
        signals_as_of.core_feature_raw = 1 as core_feature_adopted,
        health.health_score as template_score,
        health.coverage,
        health.computed_status as template_status,
        {%- for signal in signals %}
        signals_as_of.{{ signal }},
        {%- endfor %}
        health.config_version
    from observations
    -- inner joins: a decision whose as-of day the account was not yet scored has no history
    inner join health
        on
            observations.account_id = health.account_id
            and observations.as_of_date = health.date_day
    inner join signals_as_of
        on
            observations.decision_id = signals_as_of.decision_id
            and observations.horizon_days = signals_as_of.horizon_days
    inner join accounts
        on observations.account_id = accounts.account_id
)

select * from final
