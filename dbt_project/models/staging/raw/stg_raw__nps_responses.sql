with

source as (
    select * from {{ optional_source('raw', 'raw_nps_responses') }}
),

renamed as (
    select
        account_id,
        user_id,
        cast(score as {{ dbt.type_int() }}) as nps_score,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        cast(cast(responded_at as {{ dbt.type_timestamp() }}) as date) as responded_date,
        comment as nps_comment
    from source
)

select * from renamed
