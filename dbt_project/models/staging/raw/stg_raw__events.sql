with

source as (
    select * from {{ source('raw', 'raw_events') }}
),

renamed as (
    select
        event_id,
        account_id,
        user_id,
        event_name,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(cast(occurred_at as {{ dbt.type_timestamp() }}) as date) as event_date,
        cast(coalesce(quantity, 1) as {{ dbt.type_float() }}) as quantity
    from source
)

select * from renamed
