{# Token and time expressions used by more than one model. #}

{% macro cache_write_tokens(prefix='') -%}
    ({{ prefix }}cache_write_5m_tokens + {{ prefix }}cache_write_1h_tokens)
{%- endmacro %}

{% macro total_tokens(prefix='') -%}
    ({{ prefix }}input_tokens + {{ prefix }}output_tokens + {{ prefix }}cache_write_5m_tokens
     + {{ prefix }}cache_write_1h_tokens + {{ prefix }}cache_read_tokens)
{%- endmacro %}

{# Cost of token counts at list prices given per million tokens. #}
{% macro cost_at_price(tokens_price_pairs) -%}
    ({% for tokens, price in tokens_price_pairs %}{{ tokens }} * {{ price }}{% if not loop.last %} + {% endif %}{% endfor %}) / 1000000.0
{%- endmacro %}

{# Rows loaded since this incremental model last ran (by the loading run's start time). #}
{% macro loaded_since_last_run(column='loaded_at', this_column='last_loaded_at') -%}
    {{ column }} > (select coalesce(max({{ this_column }}), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endmacro %}

{# The additive measures of the usage aggregates (re-aggregate them freely; rates are ratios of sums). #}
{% macro usage_measures() -%}
        count(*) as calls,
        sum(case when is_error then 1 else 0 end) as error_calls,
        sum(case when price_status = 'unpriced' then 1 else 0 end) as unpriced_calls,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cache_write_5m_tokens) as cache_write_5m_tokens,
        sum(cache_write_1h_tokens) as cache_write_1h_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(total_tokens) as total_tokens,
        sum(cost_usd) as cost_usd,
        sum(latency_ms) as latency_ms_sum,
        count(latency_ms) as latency_calls,
        max(loaded_at) as last_loaded_at
{%- endmacro %}

{# A stable text key over grouping columns that may be NULL. #}
{% macro usage_key(columns) -%}
    md5({% for column in columns %}coalesce(cast({{ column }} as {{ dbt.type_string() }}), '~'){% if not loop.last %} || '|' || {% endif %}{% endfor %})
{%- endmacro %}
