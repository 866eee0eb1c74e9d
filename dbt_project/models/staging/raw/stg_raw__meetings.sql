with

source as (
    select * from {{ optional_source('raw', 'raw_meetings') }}
),

renamed as (
    select
        account_id,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(cast(started_at as {{ dbt.type_timestamp() }}) as date) as meeting_date,
        lower(trim(meeting_type)) as meeting_type,
        coalesce(attended, false) as was_attended,
        coalesce(executive_attended, false) as executive_attended
    from source
)

select * from renamed
