with

source as (
    select * from {{ source('raw', 'raw_contracts') }}
),

renamed as (
    select
        contract_id,
        account_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(arr as {{ dbt.type_float() }}) as contract_arr,
        lower(trim(outcome)) as outcome,
        cast(outcome_date as date) as outcome_date
    from source
)

select * from renamed
