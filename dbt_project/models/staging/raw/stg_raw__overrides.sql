with

source as (
    select * from {{ optional_source('raw', 'raw_overrides') }}
),

renamed as (
    select
        account_id,
        lower(trim(status)) as override_status,
        reason as override_reason,
        cast(expires_at as {{ dbt.type_timestamp() }}) as expires_at,
        set_by as override_set_by
    from source
)

select * from renamed
