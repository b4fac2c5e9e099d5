-- One row per billed model response as loaded by the `aioa` readers: renaming and typing only.
with source as (
    select * from {{ with_archive(source('raw', 'llm_calls'), 'raw/llm_calls', 'call_key') }}
),

renamed as (
    select
        -- ids
        call_key,
        org_id,
        team_id,
        user_id,
        project_id,
        session_id,
        agent_id,
        is_subagent,
        message_id,
        request_id,
        ingest_run_id,
        -- model
        provider,
        model,
        -- tokens
        input_tokens,
        output_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        cache_read_tokens,
        -- money
        cast(cost_usd as double precision) as cost_usd,
        price_status,
        price_source,
        price_version,
        -- outcome
        latency_ms,
        status,
        status = 'error' as is_error,
        error,
        -- context
        cwd,
        git_branch,
        client_version,
        source_system,
        source_file,
        source_line,
        -- timestamps
        cast(ts_utc as timestamp) as ts_utc
    from source
)

select * from renamed
