-- Each signal mapped to 0–100 (DESIGN §5) and weighted (DESIGN §6): the score, the weight, the
-- contribution to the health score, and the same 30 days earlier for the drivers of a change.
with

signals as (
    select * from {{ ref('int_signals__unpivoted') }}
),

spine as (
    select * from {{ ref('int_account_days') }}
),

definitions as (
    select * from {{ ref('signal_definitions') }}
),

bounds as (
    select * from {{ ref('signal_bounds') }}
),

weights as (
    select * from {{ ref('signal_weights') }}
),

configured as (
    select
        signals.account_id,
        signals.date_day,
        spine.segment,
        signals.signal,
        signals.raw_value,
        definitions.method,
        definitions.direction,
        definitions.is_gate,
        bounds.floor_value,
        bounds.target_value,
        -- a gate caps the score instead of weighing in it
        case when definitions.is_gate then 0 else coalesce(weights.weight, 0) end as weight
    from signals
    inner join spine
        on
            signals.account_id = spine.account_id
            and signals.date_day = spine.date_day
    inner join definitions
        on signals.signal = definitions.signal
    left join bounds
        on
            signals.signal = bounds.signal
            and spine.segment = bounds.segment
    left join weights
        on
            signals.signal = weights.signal
            and spine.segment = weights.segment
),

-- Percentile ranks need a sort per segment, day and signal; only signals scored that way pay it.
linear_scored as (
    select
        *,
        -- floor → 0 and target → 100; a floor above the target reads "lower is better".
        -- greatest/least skip nulls, so a signal without data is kept null explicitly.
        case
            when raw_value is not null
                then 100.0 * least(
                    greatest((raw_value - floor_value) / nullif(target_value - floor_value, 0), 0.0),
                    1.0
                )
        end as signal_score
    from configured
    where method = 'linear' or raw_value is null
),

percentile_scored as (
    select
        *,
        100.0 * percent_rank() over (
            partition by segment, date_day, signal
            order by case when direction = 'lower_is_better' then -raw_value else raw_value end
        ) as signal_score
    from configured
    where method = 'percentile' and raw_value is not null
),

scored as (
    select * from linear_scored
    union all
    select * from percentile_scored
),

weighted as (
    select
        *,
        sum(case when signal_score is not null then weight else 0 end) over (
            partition by account_id, date_day
        ) as weight_with_data,
        sum(weight) over (partition by account_id, date_day) as weight_configured
    from scored
),

contributions as (
    select
        *,
        case
            when signal_score is not null and weight_with_data > 0
                then weight * signal_score / weight_with_data
        end as contribution
    from weighted
),

history as (
    select
        account_id,
        date_day,
        segment,
        signal,
        is_gate,
        raw_value,
        signal_score,
        weight,
        weight_with_data,
        weight_configured,
        contribution,
        lag(raw_value, {{ var('trend_days') }}) over (
            partition by account_id, signal order by date_day
        ) as raw_value_before,
        lag(contribution, {{ var('trend_days') }}) over (
            partition by account_id, signal order by date_day
        ) as contribution_before
    from contributions
)

select * from history
