with

source as (
    select * from {{ optional_source('raw', 'raw_features') }}
),

renamed as (
    select
        event_name,
        coalesce(feature, event_name) as feature_name,
        coalesce(is_core, false) as is_core
    from source
)

select * from renamed
