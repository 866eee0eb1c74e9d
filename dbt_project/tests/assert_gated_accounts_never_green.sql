-- DESIGN §6: an account that has not adopted a core feature cannot be green, however active.
select
    account_id,
    date_day,
    health_score,
    computed_status
from {{ ref('fct_account_health_daily') }}
where
    is_gated
    and computed_status = 'green'
