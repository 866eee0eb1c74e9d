with

source as (
    select * from {{ optional_source('raw', 'raw_product_organizations') }}
),

renamed as (
    select
        organization_id,
        name as organization_name,
        domain as organization_domain,
        nullif(trim(crm_account_id), '') as crm_account_id
    from source
)

select * from renamed
