{% macro interval_coverage(intervals, spine) %}
    {#- For each (account, metric, day) of the spine: how many intervals cover the day and the sum
        of their values. `intervals` has account_id, metric, valid_from, valid_to (exclusive),
        value; `spine` has account_id, date_day, first_day.

        Rolling-window signals (active days in 28 d, distinct users in 28 d, latest NPS per
        contact in 180 d, ...) are all "intervals covering a day". A sweep line (+ at the start,
        − at the end, running total over the dense daily spine) keeps the cost linear in the
        number of intervals instead of intervals × window length, on every adapter. -#}
    with

    metrics as (
        select distinct metric from {{ intervals }}
    ),

    clipped as (
        select
            intervals.account_id,
            intervals.metric,
            intervals.value,
            -- an interval that began before the spine counts from the spine's first day
            case
                when intervals.valid_from < starts.first_day then starts.first_day
                else intervals.valid_from
            end as valid_from,
            intervals.valid_to
        from {{ intervals }} as intervals
        inner join (
            select distinct
                account_id,
                first_day
            from {{ spine }}
        ) as starts
            on intervals.account_id = starts.account_id
        where intervals.valid_to > starts.first_day
            and intervals.valid_to > intervals.valid_from
    ),

    deltas as (
        select
            account_id,
            metric,
            change_day,
            sum(delta_count) as delta_count,
            sum(delta_value) as delta_value
        from (
            select
                account_id,
                metric,
                valid_from as change_day,
                1 as delta_count,
                value as delta_value
            from clipped
            union all
            select
                account_id,
                metric,
                valid_to as change_day,
                -1 as delta_count,
                -value as delta_value
            from clipped
        ) as changes
        group by account_id, metric, change_day
    ),

    spine_metrics as (
        select
            spine.account_id,
            spine.date_day,
            metrics.metric
        from {{ spine }} as spine
        cross join metrics
    )

    select
        spine_metrics.account_id,
        spine_metrics.metric,
        spine_metrics.date_day,
        sum(coalesce(deltas.delta_count, 0)) over (
            partition by spine_metrics.account_id, spine_metrics.metric
            order by spine_metrics.date_day
            rows between unbounded preceding and current row
        ) as covered_count,
        sum(coalesce(deltas.delta_value, 0)) over (
            partition by spine_metrics.account_id, spine_metrics.metric
            order by spine_metrics.date_day
            rows between unbounded preceding and current row
        ) as covered_value
    from spine_metrics
    left join deltas
        on spine_metrics.account_id = deltas.account_id
        and spine_metrics.metric = deltas.metric
        and spine_metrics.date_day = deltas.change_day
{% endmacro %}
