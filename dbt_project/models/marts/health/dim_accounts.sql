with

accounts as (
    select * from {{ ref('stg_raw__accounts') }}
),

lifecycle as (
    select * from {{ ref('int_account_lifecycle') }}
),

configured_segments as (
    select distinct segment from {{ ref('signal_weights') }}
),

final as (
    select
        accounts.account_id,
        -- the file contract's account_id is the CRM company id where a CRM exists (DESIGN §4)
        accounts.account_id as crm_company_id,
        accounts.account_name,
        accounts.domain,
        coalesce(configured_segments.segment, '{{ var("default_segment") }}') as segment,
        configured_segments.segment is null as is_segment_defaulted,
        accounts.owner_id,
        accounts.owner_email,
        accounts.arr,
        accounts.seats,
        accounts.created_at,
        accounts.parent_account_id,
        accounts.is_archived,
        accounts.archived_at,
        lifecycle.customer_since,
        lifecycle.latest_contract_end as renewal_date,
        lifecycle.latest_contract_outcome,
        lifecycle.is_churned,
        lifecycle.churned_on
    from accounts
    left join configured_segments
        on accounts.segment = configured_segments.segment
    left join lifecycle
        on accounts.account_id = lifecycle.account_id
)

select * from final
