{% macro configured_signals() %}
    {#- The weighted signals named in the signal definitions seed, so a wide model grows a column
        when an analytics engineer adds a signal there. Empty while dbt only parses. -#}
    {%- if execute -%}
        {%- set query -%}
            select signal from {{ ref('signal_definitions') }} where not is_gate order by signal
        {%- endset -%}
        {{ return(run_query(query).columns[0].values() | list) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{% endmacro %}
