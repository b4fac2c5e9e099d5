-- Reconciliation: calls, tokens and cost are identical in raw, the fact table and both usage aggregates.
-- Returns one row per layer whose totals differ from raw (a passing test returns nothing).
with raw_totals as (
    select count(*) as calls, sum({{ total_tokens() }}) as total_tokens,
           coalesce(sum(cast(cost_usd as double precision)), 0) as cost_usd
    from {{ with_archive(source('raw', 'llm_calls'), 'raw/llm_calls', 'call_key') }}
),

layer_totals as (
    select 'fct_llm_calls' as layer, count(*) as calls, sum(total_tokens) as total_tokens,
           coalesce(sum(cost_usd), 0) as cost_usd
    from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
    union all
    select 'agg_usage_daily', sum(calls), sum(total_tokens), coalesce(sum(cost_usd), 0) from {{ ref('agg_usage_daily') }}
    union all
    select 'agg_usage_hourly', sum(calls), sum(total_tokens), coalesce(sum(cost_usd), 0)
    from {{ ref('agg_usage_hourly') }}
    union all
    select 'fct_sessions', sum(calls), sum(total_tokens), coalesce(sum(cost_usd), 0) from {{ ref('fct_sessions') }}
)

select layer_totals.*, raw_totals.calls as raw_calls, raw_totals.total_tokens as raw_tokens,
       raw_totals.cost_usd as raw_cost_usd
from layer_totals
cross join raw_totals
where layer_totals.calls <> raw_totals.calls
   or layer_totals.total_tokens <> raw_totals.total_tokens
   or abs(layer_totals.cost_usd - raw_totals.cost_usd) > 0.000001
