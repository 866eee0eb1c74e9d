{% macro covered(metric, measure='covered_count') %}
    {#- Pivots one metric out of `interval_coverage`'s long output (use inside a group by). -#}
    max(case when coverage.metric = '{{ metric }}' then coverage.{{ measure }} end)
{% endmacro %}
