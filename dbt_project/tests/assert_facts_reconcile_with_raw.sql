-- Reconciliation: every raw tool call and handoff is in its fact table exactly once, with the same cost.
with checks as (
    select 'tool_calls' as fact,
           (select count(*) from {{ with_archive(source('raw', 'tool_calls'), 'raw/tool_calls', 'tool_call_key') }}) as raw_rows,
           (select count(*) from {{ with_archive(ref('fct_tool_calls'), 'marts/fct_tool_calls', 'tool_call_key') }}) as mart_rows,
           0.0 as raw_cost, 0.0 as mart_cost
    union all
    select 'handoffs',
           (select count(*) from {{ source('raw', 'handoffs') }}),
           (select count(*) from {{ ref('fct_handoffs') }}),
           (select coalesce(sum(cast(cost_usd as double precision)), 0) from {{ source('raw', 'handoffs') }}),
           (select coalesce(sum(cost_usd), 0) from {{ ref('fct_handoffs') }})
    union all
    select 'mcp_tool_calls',
           (select count(*) from {{ with_archive(source('raw', 'tool_calls'), 'raw/tool_calls', 'tool_call_key') }} where is_mcp),
           (select coalesce(sum(calls), 0) from {{ ref('agg_mcp_tools_daily') }}),
           0.0, 0.0
)

select * from checks where raw_rows <> mart_rows or abs(raw_cost - mart_cost) > 0.000001
