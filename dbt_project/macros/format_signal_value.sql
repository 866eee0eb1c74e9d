{% macro format_signal_value(value, unit) %}
    {#- Raw values as a CSM reads them: shares as whole percentages, the rest to one decimal,
        "n/a" when the signal had no data. -#}
    case
        when {{ value }} is null then 'n/a'
        when {{ unit }} like 'share%'
            then cast(cast(round(100 * {{ value }}, 0) as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
            || '%'
        else cast(round({{ value }}, 1) as {{ dbt.type_string() }})
    end
{% endmacro %}
