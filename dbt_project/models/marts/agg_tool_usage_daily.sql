-- Tool calls (built-in and MCP) per day, org, team, user, project and tool: how often each person and team reaches
-- for which tool, and how often it fails. Re-aggregate freely (sessions: distinct per row, not additive).
with tool_calls as (
    select * from {{ with_archive(ref('fct_tool_calls'), 'marts/fct_tool_calls', 'tool_call_key') }}
),

aggregated as (
    select
        day,
        org_id,
        team_id,
        user_id,
        project_id,
        tool_name,
        is_mcp,
        count(*) as tool_calls,
        sum(case when success = false then 1 else 0 end) as failures,
        count(distinct session_id) as sessions
    from tool_calls
    where tool_name is not null
    group by day, org_id, team_id, user_id, project_id, tool_name, is_mcp
)

select
    {{ usage_key(['day', 'org_id', 'team_id', 'user_id', 'project_id', 'tool_name']) }} as usage_key,
    aggregated.*
from aggregated
