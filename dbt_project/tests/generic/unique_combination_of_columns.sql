{% test unique_combination_of_columns(model, combination_of_columns) %}
    {#- The grain of a table spread over several columns (dbt_utils has it; the Hub is out of
        reach here, so it lives in the project). -#}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}
