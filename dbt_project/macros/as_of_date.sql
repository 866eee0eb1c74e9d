{% macro as_of_date() %}
    {#- The scoring day: the `as_of_date` var when set, else the newest day with product events.
        Scoring up to the data's own newest day keeps a late source from reading as a customer
        going quiet; source freshness reports the lateness instead. -#}
    {%- if var('as_of_date') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max(event_date) from {{ ref('stg_raw__events') }})
    {%- endif -%}
{% endmacro %}
