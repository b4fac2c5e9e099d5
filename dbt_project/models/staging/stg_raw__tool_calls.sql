-- One row per tool invocation: renaming and typing only.
with source as (
    select * from {{ with_archive(source('raw', 'tool_calls'), 'raw/tool_calls', 'tool_call_key') }}
),

renamed as (
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
        ingest_run_id,
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
        source_system,
        -- timestamps
        cast(ts_utc as timestamp) as ts_utc
    from source
)

select * from renamed
