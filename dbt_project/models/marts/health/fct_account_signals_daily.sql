-- A view over int_signal_scores (a table): the same rows under the mart's name, not a copy.
{{ config(materialized='view') }}
with

signal_scores as (
    select * from {{ ref('int_signal_scores') }}
),

final as (
    select
        account_id,
        date_day,
        segment,
        signal,
        is_gate,
        raw_value,
        signal_score,
        weight,
        contribution,
        raw_value_before,
        contribution_before
    from signal_scores
)

select * from final
