-- MCP tool calls with the model response (turn) that made them: its model and cost, and the result's size in
-- tokens estimated from how much the context grew by the next response of the same session and agent.
with tools as (
    select * from {{ ref('int_tool_calls__token_share') }}
    where is_mcp
),

mcp_sessions as (
    select distinct org_id, session_id from tools
),

-- only sessions that used an MCP tool: the window below then ranks thousands of turns, not every call
calls as (
    select
        calls.org_id,
        calls.session_id,
        coalesce(calls.agent_id, 'main') as agent_key,
        calls.message_id,
        calls.ts_utc,
        calls.model,
        calls.cost_usd,
        calls.output_tokens,
        calls.input_tokens + {{ cache_write_tokens('calls.') }} + calls.cache_read_tokens as context_tokens
    from {{ ref('int_llm_calls__deduplicated') }} as calls
    inner join mcp_sessions
        on mcp_sessions.org_id = calls.org_id and mcp_sessions.session_id = calls.session_id
    where calls.message_id is not null
),

turns as (
    select
        org_id,
        session_id,
        agent_key,
        message_id,
        min(ts_utc) as ts_utc,
        max(model) as model,
        max(cost_usd) as cost_usd,
        max(output_tokens) as output_tokens,
        max(context_tokens) as context_tokens
    from calls
    group by org_id, session_id, agent_key, message_id
),

turns_with_next as (
    select
        turns.*,
        lead(context_tokens) over (
            partition by org_id, session_id, agent_key order by ts_utc, message_id
        ) as next_context_tokens
    from turns
),

tools_per_turn as (
    select org_id, session_id, message_id, count(*) as tools_in_turn
    from tools
    where message_id is not null
    group by org_id, session_id, message_id
),

joined as (
    select
        tools.*,
        turns_with_next.model,
        turns_with_next.cost_usd as turn_cost_usd,
        turns_with_next.cost_usd / tools_per_turn.tools_in_turn as attributed_cost_usd,
        -- the next request carries this turn's output and the tool results; a shrinking context (compaction,
        -- a new prompt cache) leaves the estimate unknown rather than negative
        case
            when turns_with_next.next_context_tokens
                >= turns_with_next.context_tokens + turns_with_next.output_tokens
                then cast(
                    turns_with_next.next_context_tokens - turns_with_next.context_tokens
                    - turns_with_next.output_tokens as double precision
                ) / tools_per_turn.tools_in_turn
        end as result_tokens_estimate
    from tools
    left join turns_with_next
        on turns_with_next.org_id = tools.org_id
        and turns_with_next.session_id = tools.session_id
        and turns_with_next.message_id = tools.message_id
    left join tools_per_turn
        on tools_per_turn.org_id = tools.org_id
        and tools_per_turn.session_id = tools.session_id
        and tools_per_turn.message_id = tools.message_id
)

select * from joined
