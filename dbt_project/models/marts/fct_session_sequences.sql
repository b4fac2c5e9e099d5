-- One row per session of one user and each step or short sequence (1 to 3 consecutive steps) that occurs in it:
-- the input of the workflow patterns (support and lift are computed by the reader over the sessions a scope may
-- read). Steps are a session thread's tool calls (main thread and each subagent apart, in call order) and the task
-- types of the handoffs an orchestrating session made (in handoff order). A run of the same step counts once (Read,
-- Read, Edit is Read → Edit): repeats say how long a step took, not what came next. `followed_by_failure` counts the
-- occurrences whose next step failed (a tool result that was an error, a handoff that did not succeed). Each row
-- carries its session's outcome: for tool sequences the session's API errors and cost (fct_sessions), for task
-- sequences whether any handoff failed and the handoffs' cost.
with tool_calls as (
    select * from {{ with_archive(ref('fct_tool_calls'), 'marts/fct_tool_calls', 'tool_call_key') }}
),

handoffs as (
    select * from {{ ref('fct_handoffs') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

steps as (
    select
        org_id,
        team_id,
        user_id,
        session_id,
        'tool' as sequence_kind,
        coalesce(agent_id, '') as thread_id,
        ts_utc,
        tool_call_key as step_key,
        tool_name as step,
        success
    from tool_calls
    where session_id is not null and tool_name is not null
    union all
    select
        org_id,
        team_id,
        user_id,
        session_id,
        'task' as sequence_kind,
        '' as thread_id,
        ts_utc,
        handoff_id as step_key,
        task_type as step,
        success
    from handoffs
    where session_id is not null and task_type is not null
),

marked_repeats as (
    select
        steps.*,
        lag(step) over (
            partition by org_id, team_id, user_id, session_id, sequence_kind, thread_id order by ts_utc, step_key
        ) as previous_step
    from steps
),

collapsed_runs as (
    select * from marked_repeats
    where previous_step is null or previous_step <> step
),

with_next_steps as (
    select
        collapsed_runs.*,
        lead(success, 1) over thread_order as success_after_1,
        lead(step, 1) over thread_order as step_2,
        lead(step, 2) over thread_order as step_3,
        lead(success, 2) over thread_order as success_after_2,
        lead(success, 3) over thread_order as success_after_3
    from collapsed_runs
    window thread_order as (
        partition by org_id, team_id, user_id, session_id, sequence_kind, thread_id order by ts_utc, step_key
    )
),

occurrences as (
    select
        org_id, team_id, user_id, session_id, sequence_kind,
        1 as pattern_length,
        step as pattern,
        case when success_after_1 = false then 1 else 0 end as failed_next
    from with_next_steps
    union all
    select
        org_id, team_id, user_id, session_id, sequence_kind,
        2 as pattern_length,
        step || ' → ' || step_2 as pattern,
        case when success_after_2 = false then 1 else 0 end as failed_next
    from with_next_steps
    where step_2 is not null
    union all
    select
        org_id, team_id, user_id, session_id, sequence_kind,
        3 as pattern_length,
        step || ' → ' || step_2 || ' → ' || step_3 as pattern,
        case when success_after_3 = false then 1 else 0 end as failed_next
    from with_next_steps
    where step_3 is not null
),

per_session as (
    select
        org_id,
        team_id,
        user_id,
        session_id,
        sequence_kind,
        pattern_length,
        pattern,
        count(*) as occurrences,
        sum(failed_next) as followed_by_failure
    from occurrences
    group by org_id, team_id, user_id, session_id, sequence_kind, pattern_length, pattern
),

session_outcomes as (
    select
        session_key,
        org_id,
        team_id,
        user_id,
        session_id,
        'tool' as sequence_kind,
        project_id,
        day,
        errors > 0 as session_has_error,
        cost_usd as session_cost_usd
    from sessions
    union all
    select
        {{ usage_key(['org_id', 'team_id', 'user_id', 'session_id']) }} as session_key,
        org_id,
        team_id,
        user_id,
        session_id,
        'task' as sequence_kind,
        min(project_id) as project_id,
        min(day) as day,
        max(case when success = false then 1 else 0 end) = 1 as session_has_error,
        sum(cost_usd) as session_cost_usd
    from handoffs
    where session_id is not null and task_type is not null
    group by org_id, team_id, user_id, session_id
),

final as (
    select
        -- ids
        {{ usage_key(['per_session.org_id', 'per_session.team_id', 'per_session.user_id', 'per_session.session_id', 'per_session.sequence_kind', 'per_session.pattern']) }} as sequence_key,
        sessions.session_key,
        per_session.org_id,
        per_session.team_id,
        per_session.user_id,
        sessions.project_id,
        per_session.session_id,
        -- time
        sessions.day,
        -- pattern
        per_session.sequence_kind,
        per_session.pattern_length,
        per_session.pattern,
        -- numerics
        per_session.occurrences,
        per_session.followed_by_failure,
        -- the session's outcome
        sessions.session_has_error,
        sessions.session_cost_usd
    from per_session
    inner join session_outcomes as sessions
        on sessions.org_id = per_session.org_id
        and sessions.sequence_kind = per_session.sequence_kind
        and sessions.session_id = per_session.session_id
        and sessions.team_id is not distinct from per_session.team_id
        and sessions.user_id is not distinct from per_session.user_id
)

select * from final
