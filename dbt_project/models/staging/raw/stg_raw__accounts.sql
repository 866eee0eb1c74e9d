with

source as (
    select * from {{ source('raw', 'raw_accounts') }}
),

renamed as (
    select
        account_id,
        name as account_name,
        lower(trim(domain)) as domain,
        lower(replace(replace(trim(segment), '-', '_'), ' ', '_')) as segment,
        lower(trim(owner_email)) as owner_email,
        owner_id,
        cast(arr as {{ dbt.type_float() }}) as arr,
        cast(seats as {{ dbt.type_int() }}) as seats,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        parent_account_id,
        cast(archived_at as {{ dbt.type_timestamp() }}) as archived_at,
        archived_at is not null as is_archived
    from source
)

select * from renamed
