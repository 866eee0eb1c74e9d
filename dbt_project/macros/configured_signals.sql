{% macro configured_signals() %}
    {#- The weighted signals named in the signal definitions seed, so a wide model grows a column
        when an analytics engineer adds a signal there. Empty while dbt only parses, and before
        the seed is loaded (linting compiles against an empty warehouse). -#}
    {%- set definitions = load_relation(ref('signal_definitions')) if execute else none -%}
    {%- if definitions is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select signal from {{ definitions }} where not is_gate order by signal
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}
