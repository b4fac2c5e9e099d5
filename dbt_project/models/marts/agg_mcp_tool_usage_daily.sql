-- MCP tool performance from usage per day, org, team, user, project, model, server and tool: calls, errors,
-- latency from tool_use to tool_result, result size in tokens (estimated) and the cost of the turns that used it.
with tool_calls as (
    select * from {{ ref('int_mcp_tool_calls__turns') }}
),

-- a turn that called the same tool twice counts its cost once for that tool
first_call_in_turn as (
    select
        tool_calls.*,
        row_number() over (
            partition by org_id, session_id, message_id, tool_name order by ts_utc, tool_call_key
        ) as call_in_turn
    from tool_calls
),

aggregated as (
    select
        cast(ts_utc as date) as day,
        org_id,
        team_id,
        user_id,
        project_id,
        model,
        mcp_plugin,
        mcp_server,
        mcp_tool,
        -- numerics
        count(*) as calls,
        sum(case when success = false then 1 else 0 end) as errors,
        sum(case when success is not null then 1 else 0 end) as calls_with_result,
        sum(duration_ms) as duration_ms_sum,
        count(duration_ms) as calls_with_duration,
        sum(result_tokens_estimate) as result_tokens_sum,
        count(result_tokens_estimate) as calls_with_result_tokens,
        sum(attributed_tokens) as attributed_tokens,
        sum(attributed_cost_usd) as attributed_cost_usd,
        sum(case when call_in_turn = 1 then turn_cost_usd end) as turn_cost_usd,
        count(distinct session_id) as sessions,
        max(loaded_at) as last_loaded_at
    from first_call_in_turn
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
)

select
    {{ usage_key([
        'day', 'org_id', 'team_id', 'user_id', 'project_id', 'model', 'mcp_plugin', 'mcp_server', 'mcp_tool'
    ]) }} as usage_key,
    aggregated.*
from aggregated
