with

source as (
    select * from {{ optional_source('raw', 'raw_users') }}
),

renamed as (
    select
        user_id,
        account_id,
        lower(trim(email)) as email,
        role as user_role,
        coalesce(is_executive, false) as is_executive,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source
)

select * from renamed
