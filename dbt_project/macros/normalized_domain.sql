{% macro normalized_domain(column) %}
    {#- A company's domain as people and systems spell it, reduced to the host to match on:
        lower case, no scheme, no path, query or port, no leading `www.`; blank → null.
        `HTTPS://www.Acme.com:443/login?x=1` → `acme.com`. Built from dbt's cross-database
        string macros, so it runs on every adapter the project supports. -#}
    {%- set lowered = "lower(trim(" ~ column ~ "))" -%}
    {%- set no_scheme -%}
        case
            when {{ dbt.position("'://'", lowered) }} > 0
                then {{ dbt.split_part(lowered, "'://'", 2) }}
            else {{ lowered }}
        end
    {%- endset -%}
    {%- set host = dbt.split_part(
        dbt.split_part(dbt.split_part(no_scheme, "'/'", 1), "'?'", 1), "':'", 1
    ) -%}
    nullif(
        case
            when {{ host }} like 'www.%'
                then {{ dbt.right(host, dbt.length(host) ~ " - 4") }}
            else {{ host }}
        end,
        ''
    )
{%- endmacro %}
