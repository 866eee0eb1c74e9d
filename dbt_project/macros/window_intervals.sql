{% macro window_intervals(uses, metric, signal, value='1.0', distinct_by=none, windows_back=0) %}
    {#- Turns dated uses into the intervals `interval_coverage` sweeps: a use on day d belongs to
        the trailing window of days d .. d + window − 1 (shifted `windows_back` windows later
        for "the previous window"). With `distinct_by`, each interval stops where the next use
        of the same key begins, so a day is covered at most once per key: the covered count is
        then a distinct count (users, features) and the covered value is the latest value
        (an NPS answer, the day of the last executive touch).
        `uses` has account_id and use_date; the window length comes from signal definitions. -#}
    select
        account_id,
        '{{ metric }}' as metric,
        valid_from,
        case
            when next_use_from is not null and next_use_from < window_end then next_use_from
            else window_end
        end as valid_to,
        value
    from (
        select
            uses.account_id,
            cast(
                {{ dbt.dateadd('day', windows_back ~ ' * windows.window_days', 'uses.use_date') }}
                as date
            ) as valid_from,
            cast(
                {{ dbt.dateadd('day', (windows_back + 1) ~ ' * windows.window_days', 'uses.use_date') }}
                as date
            ) as window_end,
            {%- if distinct_by %}
            cast(
                {{ dbt.dateadd(
                    'day',
                    windows_back ~ ' * windows.window_days',
                    'lead(uses.use_date) over (partition by uses.account_id, ' ~ distinct_by ~ ' order by uses.use_date)'
                ) }}
                as date
            ) as next_use_from,
            {%- else %}
            cast(null as date) as next_use_from,
            {%- endif %}
            cast({{ value }} as {{ dbt.type_float() }}) as value
        from {{ uses }} as uses
        inner join {{ ref('int_signal_windows') }} as windows
            on windows.signal = '{{ signal }}'
    ) as windowed
{% endmacro %}
