{% macro override_text(relation) %}
    {#- "red until 2026-12-31: reason" — the override a CSM set, readable in one CRM field. -#}
    case
        when {{ relation }}.override_status is not null
            then {{ relation }}.override_status
            || ' until '
            || cast(cast({{ relation }}.override_expires_at as date) as {{ dbt.type_string() }})
            || ': '
            || {{ relation }}.override_reason
    end
{% endmacro %}
