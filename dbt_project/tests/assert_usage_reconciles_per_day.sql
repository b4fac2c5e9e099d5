-- Reconciliation per day: calls, tokens and cost of each day in agg_usage_daily equal raw's for that day
-- (assert_llm_call_totals_reconcile checks the totals; this finds a call moved to the wrong day).
with raw_days as (
    select cast(ts_utc as date) as day, count(*) as calls, sum({{ total_tokens() }}) as total_tokens,
           coalesce(sum(cast(cost_usd as double precision)), 0) as cost_usd
    from {{ with_archive(source('raw', 'llm_calls'), 'raw/llm_calls', 'call_key') }}
    group by 1
),

mart_days as (
    select day, sum(calls) as calls, sum(total_tokens) as total_tokens, coalesce(sum(cost_usd), 0) as cost_usd
    from {{ ref('agg_usage_daily') }}
    group by 1
)

select coalesce(raw_days.day, mart_days.day) as day,
       raw_days.calls as raw_calls, mart_days.calls as mart_calls,
       raw_days.total_tokens as raw_tokens, mart_days.total_tokens as mart_tokens,
       raw_days.cost_usd as raw_cost_usd, mart_days.cost_usd as mart_cost_usd
from raw_days
full outer join mart_days on mart_days.day = raw_days.day
where coalesce(raw_days.calls, 0) <> coalesce(mart_days.calls, 0)
   or coalesce(raw_days.total_tokens, 0) <> coalesce(mart_days.total_tokens, 0)
   or abs(coalesce(raw_days.cost_usd, 0) - coalesce(mart_days.cost_usd, 0)) > 0.000001
