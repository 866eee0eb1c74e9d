-- Which CRM account the product's data of each organisation belongs to (issue 6): the CRM id
-- the product records for it when it has one, else the account with the same normalised
-- domain. A match must be unique: an organisation with several candidates is ambiguous, one
-- with none unmatched; both are listed with the reason and left out of scoring, never merged
-- on a guess. An explicit id is trusted or refused, never second-guessed by domain, and an
-- archived CRM account is no candidate by domain. Without product organisations, product
-- data already carries account ids, so every account is its own identity.
with

accounts as (
    select * from {{ ref('stg_raw__accounts') }}
),

organizations as (
    select * from {{ ref('stg_raw__product_organizations') }}
),

organization_domains as (
    select
        organization_id,
        organization_name,
        organization_domain,
        crm_account_id,
        {{ normalized_domain('organization_domain') }} as match_domain
    from organizations
),

account_domains as (
    select
        account_id,
        {{ normalized_domain('domain') }} as match_domain
    from accounts
    where not is_archived
),

candidates as (
    select
        organization_domains.organization_id,
        accounts.account_id
    from organization_domains
    inner join accounts
        on organization_domains.crm_account_id = accounts.account_id
    union all
    select
        organization_domains.organization_id,
        account_domains.account_id
    from organization_domains
    inner join account_domains
        on organization_domains.match_domain = account_domains.match_domain
    where organization_domains.crm_account_id is null
),

candidate_counts as (
    select
        organization_id,
        count(*) as candidate_count,
        min(account_id) as only_candidate,
        {{ dbt.listagg('account_id', "', '", 'order by account_id') }} as candidate_account_ids
    from candidates
    group by organization_id
),

organization_matches as (
    select
        organization_domains.organization_id as source_account_id,
        organization_domains.organization_name,
        organization_domains.organization_domain,
        organization_domains.crm_account_id,
        organization_domains.match_domain,
        coalesce(candidate_counts.candidate_count, 0) as candidate_count,
        candidate_counts.only_candidate,
        candidate_counts.candidate_account_ids,
        case
            when organization_domains.crm_account_id is not null then 'explicit_id'
            when organization_domains.match_domain is not null then 'domain'
            else 'none'
        end as match_method
    from organization_domains
    left join candidate_counts
        on organization_domains.organization_id = candidate_counts.organization_id
),

organizations_resolved as (
    select
        source_account_id,
        case when candidate_count = 1 then only_candidate end as account_id,
        case
            when candidate_count = 1 then 'matched'
            when candidate_count > 1 then 'ambiguous'
            else 'unmatched'
        end as match_status,
        match_method,
        candidate_count,
        candidate_account_ids,
        case
            when candidate_count > 1
                then {{ dbt.concat([
                    "'domain '", 'match_domain', "' matches several CRM accounts: '",
                    'candidate_account_ids',
                ]) }}
            when candidate_count = 1 then null
            when match_method = 'explicit_id'
                then {{ dbt.concat(["'crm_account_id '", 'crm_account_id', "' is no CRM account'"]) }}
            when match_method = 'domain'
                then {{ dbt.concat(["'no live CRM account has domain '", 'match_domain']) }}
            else 'no crm_account_id and no domain to match on'
        end as unresolved_reason,
        organization_name,
        organization_domain,
        crm_account_id
    from organization_matches
),

accounts_as_themselves as (
    select
        account_id as source_account_id,
        account_id,
        'matched' as match_status,
        'same_id' as match_method,
        1 as candidate_count,
        account_id as candidate_account_ids,
        cast(null as {{ dbt.type_string() }}) as unresolved_reason,
        account_name as organization_name,
        domain as organization_domain,
        account_id as crm_account_id
    from accounts
    where not exists (select 1 from organizations)
),

identities as (
    select * from organizations_resolved
    union all
    select * from accounts_as_themselves
)

select * from identities
