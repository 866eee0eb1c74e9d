-- Window length per signal, read from the signal definitions so an edit there changes the maths.
with

definitions as (
    select * from {{ ref('signal_definitions') }}
),

final as (
    select
        signal,
        window_days
    from definitions
)

select * from final
