with

source as (
    select * from {{ optional_source('raw', 'raw_email_events') }}
),

renamed as (
    select
        account_id,
        lower(trim(event_type)) as email_event_type,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(cast(occurred_at as {{ dbt.type_timestamp() }}) as date) as event_date,
        lower(trim(contact_email)) as contact_email
    from source
)

select * from renamed
