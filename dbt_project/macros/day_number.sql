{% macro day_number(date_expression) %}
    {#- Days since 1970-01-01: lets a date travel through sums and maxima as a plain integer. -#}
    {{ dbt.datediff("cast('1970-01-01' as date)", date_expression, 'day') }}
{% endmacro %}
