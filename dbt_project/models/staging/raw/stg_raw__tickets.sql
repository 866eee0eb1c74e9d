with

source as (
    select * from {{ optional_source('raw', 'raw_tickets') }}
),

renamed as (
    select
        ticket_id,
        account_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(cast(created_at as {{ dbt.type_timestamp() }}) as date) as created_date,
        lower(trim(priority)) as priority,
        lower(trim(status)) as ticket_status,
        cast(solved_at as {{ dbt.type_timestamp() }}) as solved_at,
        subject,
        body,
        cast(satisfaction as {{ dbt.type_int() }}) as satisfaction,
        cast(sentiment as {{ dbt.type_float() }}) as sentiment
    from source
)

select * from renamed
