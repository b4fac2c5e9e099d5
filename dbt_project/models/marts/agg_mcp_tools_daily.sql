{{ config(
    materialized='incremental',
    unique_key='day',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
-- MCP tool use per day, org, team, user, project, server and tool: calls, failures, latency and share of tokens.
-- Team and user let a narrowed reader (a User, a Viewer) see their own rows. A touched day is rebuilt whole (the
-- unique key is the day), so rows built before team_id/user_id existed are replaced day by day, never doubled;
-- `aioa run --full-refresh` replaces them all at once.
with tools as (
    select * from {{ with_archive(ref('fct_tool_calls'), 'marts/fct_tool_calls', 'tool_call_key') }} where is_mcp
),

{% if is_incremental() %}
touched_days as (
    select distinct day from tools where {{ loaded_since_last_run('loaded_at', 'last_loaded_at') }}
),
{% endif %}

day_tools as (
    select tools.*
    from tools
    {% if is_incremental() %}
    inner join touched_days on touched_days.day = tools.day
    {% endif %}
),

aggregated as (
    select
        day,
        org_id,
        team_id,
        user_id,
        project_id,
        mcp_plugin,
        mcp_server,
        mcp_tool,
        tool_name,
        count(*) as calls,
        sum(case when success = false then 1 else 0 end) as failures,
        sum(case when success is not null then 1 else 0 end) as calls_with_result,
        sum(duration_ms) as duration_ms_sum,
        count(duration_ms) as calls_with_duration,
        sum(attributed_tokens) as attributed_tokens,
        max(loaded_at) as last_loaded_at
    from day_tools
    group by day, org_id, team_id, user_id, project_id, mcp_plugin, mcp_server, mcp_tool, tool_name
)

select
    {{ usage_key(['day', 'org_id', 'team_id', 'user_id', 'project_id', 'tool_name']) }} as usage_key,
    aggregated.*
from aggregated
