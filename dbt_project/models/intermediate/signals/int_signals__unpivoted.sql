-- A view: int_signal_scores reads it once, so storing 4 M rows would be pure cost.
{{ config(materialized='view') }}
-- Every signal of DESIGN §5 as one long table (account, day, signal, raw value), the shape the
-- scoring, the drivers and the calibration all read.
{%- set signals_by_model = {
    'int_signals__product_usage': [
        'login_frequency', 'active_user_ratio', 'user_stickiness', 'usage_intensity',
        'feature_adoption', 'core_feature_adopted', 'usage_trend',
    ],
    'int_signals__support': ['ticket_volume', 'ticket_sentiment'],
    'int_signals__nps': ['nps'],
    'int_signals__engagement': ['email_engagement', 'executive_engagement', 'qbr_attendance'],
    'int_signals__contracts': ['renewal_risk'],
} %}

with

{% for model in signals_by_model %}
    {{ model }} as (
        select * from {{ ref(model) }}
    ),
{% endfor %}

unpivoted as (
    {%- for model, signals in signals_by_model.items() %}
        {%- for signal in signals %}
            select
                account_id,
                date_day,
                '{{ signal }}' as signal,
                cast({{ signal }} as {{ dbt.type_float() }}) as raw_value
            from {{ model }}
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from unpivoted
