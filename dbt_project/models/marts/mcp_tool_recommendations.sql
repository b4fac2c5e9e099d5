-- Which MCP tools go with successful, cheaper sessions of a task type: per org, task type and tool, the sessions
-- that used it against those of the same task type that did not, with the evidence (counts, rates, mean cost).
with sessions as (
    select * from {{ ref('fct_sessions') }}
),

handoffs as (
    select * from {{ ref('fct_handoffs') }}
),

tool_calls as (
    select * from {{ with_archive(ref('fct_tool_calls'), 'marts/fct_tool_calls', 'tool_call_key') }}
    where is_mcp
),

-- a session's task type is its most frequent handoff task type; its outcome the handoffs' (all succeeded), or,
-- without handoffs, no errored call
session_task_types as (
    select
        org_id,
        session_id,
        task_type,
        row_number() over (partition by org_id, session_id order by count(*) desc, task_type) as task_rank
    from handoffs
    where session_id is not null and task_type is not null
    group by org_id, session_id, task_type
),

session_outcomes as (
    select
        org_id,
        session_id,
        min(case when success then 1 else 0 end) as all_handoffs_succeeded
    from handoffs
    where session_id is not null and success is not null
    group by org_id, session_id
),

classified_sessions as (
    select
        sessions.org_id,
        sessions.session_id,
        coalesce(session_task_types.task_type, 'unknown') as task_type,
        sessions.cost_usd,
        coalesce(session_outcomes.all_handoffs_succeeded, case when sessions.errors = 0 then 1 else 0 end)
            as succeeded
    from sessions
    left join session_task_types
        on session_task_types.org_id = sessions.org_id
        and session_task_types.session_id = sessions.session_id
        and session_task_types.task_rank = 1
    left join session_outcomes
        on session_outcomes.org_id = sessions.org_id and session_outcomes.session_id = sessions.session_id
),

session_tools as (
    select distinct org_id, session_id, mcp_plugin, mcp_server, mcp_tool
    from tool_calls
),

task_totals as (
    select
        org_id,
        task_type,
        count(*) as task_sessions,
        sum(succeeded) as task_successes,
        sum(cost_usd) as task_cost_usd,
        count(cost_usd) as task_costed_sessions
    from classified_sessions
    group by org_id, task_type
),

with_tool as (
    select
        classified_sessions.org_id,
        classified_sessions.task_type,
        session_tools.mcp_plugin,
        session_tools.mcp_server,
        session_tools.mcp_tool,
        count(*) as sessions_with_tool,
        sum(classified_sessions.succeeded) as successes_with_tool,
        sum(classified_sessions.cost_usd) as cost_usd_with_tool,
        count(classified_sessions.cost_usd) as costed_sessions_with_tool
    from session_tools
    inner join classified_sessions
        on classified_sessions.org_id = session_tools.org_id
        and classified_sessions.session_id = session_tools.session_id
    group by 1, 2, 3, 4, 5
),

evidence as (
    select
        with_tool.org_id,
        with_tool.task_type,
        with_tool.mcp_plugin,
        with_tool.mcp_server,
        with_tool.mcp_tool,
        -- sessions of this task type with and without the tool
        with_tool.sessions_with_tool,
        task_totals.task_sessions - with_tool.sessions_with_tool as sessions_without_tool,
        cast(with_tool.successes_with_tool as double precision) / with_tool.sessions_with_tool
            as success_rate_with_tool,
        cast(task_totals.task_successes - with_tool.successes_with_tool as double precision)
            / nullif(task_totals.task_sessions - with_tool.sessions_with_tool, 0) as success_rate_without_tool,
        -- mean cost over the sessions whose cost is known (a session of unpriced calls only has none)
        with_tool.cost_usd_with_tool / nullif(with_tool.costed_sessions_with_tool, 0) as mean_cost_usd_with_tool,
        (task_totals.task_cost_usd - with_tool.cost_usd_with_tool)
            / nullif(task_totals.task_costed_sessions - with_tool.costed_sessions_with_tool, 0)
            as mean_cost_usd_without_tool
    from with_tool
    inner join task_totals
        on task_totals.org_id = with_tool.org_id and task_totals.task_type = with_tool.task_type
),

final as (
    select
        {{ usage_key(['org_id', 'task_type', 'mcp_plugin', 'mcp_server', 'mcp_tool']) }} as recommendation_key,
        evidence.*,
        success_rate_with_tool - success_rate_without_tool as success_rate_lift,
        mean_cost_usd_with_tool - mean_cost_usd_without_tool as mean_cost_usd_difference,
        -- enough sessions on both sides, at least as successful, and cheaper
        coalesce(
            sessions_with_tool >= {{ var('mcp_recommendation_min_sessions', 5) }}
            and sessions_without_tool >= {{ var('mcp_recommendation_min_sessions', 5) }}
            and success_rate_with_tool >= success_rate_without_tool
            and mean_cost_usd_with_tool < mean_cost_usd_without_tool,
            false
        ) as recommended
    from evidence
)

select * from final
