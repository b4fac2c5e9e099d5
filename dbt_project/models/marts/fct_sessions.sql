-- unique_key is the rebuild unit, not the grain: every row of a touched session id is deleted and rebuilt
{{ config(materialized='incremental', unique_key='session_id', incremental_strategy='delete+insert') }}
-- One row per agent session of one user (org, team, user, session id): its span, calls (main thread and subagents),
-- tools, tokens, cost and errors. A Claude Code session is one user's, so this is one row per session; should logs
-- ever carry one session id under several users (a transcript copied into another home), each user's part is its
-- own row, and a scope narrowed to a team or a user reads only calls it may read.
-- Incremental: every session touched by newly loaded calls is rebuilt whole from fct_llm_calls.
with calls as (
    select * from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
),

{% if is_incremental() %}
touched as (
    select distinct session_id from calls where {{ loaded_since_last_run('loaded_at', 'last_loaded_at') }}
),
{% endif %}

session_calls as (
    select calls.*
    from calls
    {% if is_incremental() %}
    inner join touched on touched.session_id = calls.session_id
    {% endif %}
),

tools as (
    select
        {{ usage_key(['org_id', 'team_id', 'user_id', 'session_id']) }} as session_key,
        count(*) as tool_calls,
        sum(case when is_mcp then 1 else 0 end) as mcp_tool_calls
    from {{ with_archive(ref('fct_tool_calls'), 'marts/fct_tool_calls', 'tool_call_key') }}
    group by org_id, team_id, user_id, session_id
),

summary as (
    select
        {{ usage_key(['org_id', 'team_id', 'user_id', 'session_id']) }} as session_key,
        session_id,
        org_id,
        team_id,
        user_id,
        min(project_id) as project_id,
        min(project_group) as project_group,
        min(ts_utc) as started_at,
        max(ts_utc) as ended_at,
        count(*) as calls,
        sum(case when is_subagent then 1 else 0 end) as subagent_calls,
        count(distinct case when is_subagent then agent_id end) as subagents,
        count(distinct model) as models_used,
        sum(total_tokens) as total_tokens,
        sum(cost_usd) as cost_usd,
        sum(case when is_error then 1 else 0 end) as errors,
        max(loaded_at) as last_loaded_at
    from session_calls
    group by org_id, team_id, user_id, session_id
),

final as (
    select
        summary.session_key,
        summary.session_id,
        summary.org_id,
        summary.team_id,
        summary.user_id,
        summary.project_id,
        summary.project_group,
        summary.started_at,
        summary.ended_at,
        cast(summary.started_at as date) as day,
        {{ dbt.datediff('summary.started_at', 'summary.ended_at', 'second') }} / 60.0 as duration_minutes,
        summary.calls,
        summary.subagent_calls,
        summary.subagents,
        summary.models_used,
        coalesce(tools.tool_calls, 0) as tool_calls,
        coalesce(tools.mcp_tool_calls, 0) as mcp_tool_calls,
        summary.total_tokens,
        summary.cost_usd,
        summary.errors,
        summary.last_loaded_at
    from summary
    left join tools on tools.session_key = summary.session_key
)

select * from final
