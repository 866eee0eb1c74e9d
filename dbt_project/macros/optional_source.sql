{% macro optional_source(source_name, table_name) %}
    {#- A source that may not have been delivered. Only accounts, events and contracts are
        needed for a score (DESIGN §4); a missing optional entity must shrink coverage, not
        fail the build, so it reads as an empty relation with the declared column types. -#}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(
            database=relation.database,
            schema=relation.schema,
            identifier=relation.identifier,
        ) -%}
        {%- if existing is none -%}
            {%- set node = graph.sources['source.healthscore.' ~ source_name ~ '.' ~ table_name] -%}
            (
                select
                {%- for column in node.columns.values() %}
                    cast(null as {{ column.data_type }}) as {{ column.name }}
                    {{- "," if not loop.last }}
                {%- endfor %}
                where 1 = 0
            )
        {%- else -%}
            {{ relation }}
        {%- endif -%}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{% endmacro %}
