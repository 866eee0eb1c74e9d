-- Product users under the CRM account their organisation resolves to (int_account_identity).
{{ config(materialized='view') }}

with

users as (
    select * from {{ ref('stg_raw__users') }}
),

identities as (
    select * from {{ ref('int_account_identity') }}
    where match_status = 'matched'
),

attributed as (
    select
        users.user_id,
        identities.account_id,
        users.account_id as source_account_id,
        users.email,
        users.user_role,
        users.is_executive,
        users.created_at
    from users
    inner join identities
        on users.account_id = identities.source_account_id
)

select * from attributed
