-- The drivers of each account-day's change (DESIGN §6): the three signals whose contribution
-- moved most over the trend window, with their raw values before and after.
with

signal_scores as (
    select * from {{ ref('int_signal_scores') }}
),

definitions as (
    select * from {{ ref('signal_definitions') }}
),

changes as (
    select
        signal_scores.account_id,
        signal_scores.date_day,
        signal_scores.signal,
        definitions.label,
        definitions.unit,
        signal_scores.raw_value_before,
        signal_scores.raw_value,
        coalesce(signal_scores.contribution, 0)
        - coalesce(signal_scores.contribution_before, 0) as contribution_change
    from signal_scores
    inner join definitions
        on signal_scores.signal = definitions.signal
    where
        not signal_scores.is_gate
        and (signal_scores.contribution is not null or signal_scores.contribution_before is not null)
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, date_day
            order by abs(contribution_change) desc, signal
        ) as driver_rank
    from changes
    where contribution_change <> 0
),

described as (
    select
        *,
        label || ' '
        || {{ format_signal_value('raw_value_before', 'unit') }}
        || ' → '
        || {{ format_signal_value('raw_value', 'unit') }} as driver_text
    from ranked
    where driver_rank <= 3
),

pivoted as (
    select
        account_id,
        date_day,
        {%- for rank in [1, 2, 3] %}
            max(case when driver_rank = {{ rank }} then signal end) as driver_{{ rank }}_signal,
            max(case when driver_rank = {{ rank }} then raw_value_before end)
                as driver_{{ rank }}_before,
            max(case when driver_rank = {{ rank }} then raw_value end) as driver_{{ rank }}_after,
            max(case when driver_rank = {{ rank }} then contribution_change end)
                as driver_{{ rank }}_contribution_change,
            max(case when driver_rank = {{ rank }} then driver_text end) as driver_{{ rank }}_text,
        {%- endfor %}
        {{ dbt.listagg('driver_text', "'; '", 'order by driver_rank') }} as drivers_text
    from described
    group by account_id, date_day
)

select * from pivoted
