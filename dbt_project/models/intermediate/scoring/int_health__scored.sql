-- The weighted health score per account-day (DESIGN §6): weights of signals without data are
-- redistributed, coverage is published, and the core-feature gate caps the score.
with

signal_scores as (
    select * from {{ ref('int_signal_scores') }}
),

bands as (
    select * from {{ ref('status_bands') }}
),

weights as (
    select * from {{ ref('signal_weights') }}
),

config_versions as (
    select
        segment,
        max(config_version) as config_version
    from weights
    group by segment
),

aggregated as (
    select
        account_id,
        date_day,
        segment,
        sum(contribution) as score_uncapped,
        max(weight_with_data) as weight_with_data,
        max(weight_configured) as weight_configured,
        max(case when is_gate then signal_score end) as gate_score
    from signal_scores
    group by account_id, date_day, segment
),

gated as (
    select
        aggregated.account_id,
        aggregated.date_day,
        aggregated.segment,
        config_versions.config_version,
        round(aggregated.score_uncapped, 1) as score_uncapped,
        aggregated.weight_with_data / nullif(aggregated.weight_configured, 0) as coverage,
        coalesce(aggregated.gate_score = 0, false) as is_gated,
        -- rounded before colouring, so the published score and colour always agree
        round(
            case
                -- least() skips nulls: a score without data must stay null, not become the cap
                when aggregated.gate_score = 0 and aggregated.score_uncapped is not null
                    then least(aggregated.score_uncapped, bands.gate_cap)
                else aggregated.score_uncapped
            end,
            1
        ) as health_score,
        bands.red_below,
        bands.red_exit_at,
        bands.green_at,
        bands.min_coverage
    from aggregated
    inner join bands
        on aggregated.segment = bands.segment
    left join config_versions
        on aggregated.segment = config_versions.segment
)

select * from gated
