{{ config(materialized='incremental', unique_key='tool_call_key', incremental_strategy='delete+insert') }}
-- One row per tool invocation, with the MCP server and tool parsed from the name.
with tools as (
    select * from {{ ref('int_tool_calls__token_share') }}
    {% if is_incremental() %}
    where {{ loaded_since_last_run('loaded_at', 'loaded_at') }}
    {% endif %}
),

final as (
    select
        -- ids
        tool_call_key,
        org_id,
        team_id,
        user_id,
        project_id,
        session_id,
        agent_id,
        message_id,
        tool_use_id,
        -- time
        ts_utc,
        cast(ts_utc as date) as day,
        -- tool
        tool_name,
        is_mcp,
        mcp_server,
        mcp_tool,
        mcp_plugin,
        subagent_type,
        -- outcome
        success,
        duration_ms,
        error,
        attributed_tokens,
        source_system,
        loaded_at
    from tools
)

select * from final
