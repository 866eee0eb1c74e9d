-- Product events under the CRM account their organisation resolves to (int_account_identity).
-- Events of unmatched or ambiguous organisations are not scored; the identity lists them.
-- A view: a join to a small table is cheaper than a second copy of the largest table.
{{ config(materialized='view') }}

with

events as (
    select * from {{ ref('stg_raw__events') }}
),

identities as (
    select * from {{ ref('int_account_identity') }}
    where match_status = 'matched'
),

attributed as (
    select
        events.event_id,
        identities.account_id,
        events.account_id as source_account_id,
        events.user_id,
        events.event_name,
        events.occurred_at,
        events.event_date,
        events.quantity
    from events
    inner join identities
        on events.account_id = identities.source_account_id
)

select * from attributed
