-- One row per model-response snapshot: top-level assistant lines and subagent responses nested in progress lines.
create or replace temp table cc_messages as
with records as (
    select * from cc_records where is_valid_json
),
top_level as (
    select
        file_idx, line_no, excerpt,
        record.sessionId as session_id,
        coalesce(record.agentId, 'main') as agent_id,
        record.message.id as message_id,
        record.requestId as request_id,
        record.uuid as record_uuid,
        record.timestamp as raw_timestamp,
        record.message.model as model,
        record.message.usage as usage_json,
        record.message.content as content,
        coalesce(record.isApiErrorMessage, false) as is_api_error,
        record.cwd as cwd, record.gitBranch as git_branch, record.version as client_version
    from records
    where record.type = 'assistant' and record.message.usage is not null
),
nested_in_progress as (
    select
        file_idx, line_no, excerpt,
        record.sessionId as session_id,
        coalesce(record.data.agentId, 'unknown-subagent') as agent_id,
        record.data.message.message.id as message_id,
        record.data.message.requestId as request_id,
        record.uuid as record_uuid,
        coalesce(record.data.message.timestamp, record.timestamp) as raw_timestamp,
        record.data.message.message.model as model,
        record.data.message.message.usage as usage_json,
        record.data.message.message.content as content,
        false as is_api_error,
        record.cwd as cwd, record.gitBranch as git_branch, record.version as client_version
    from records
    where record.type = 'progress'
      and record.data.message.type = 'assistant'
      and record.data.message.message.usage is not null
),
snapshots as (
    select * from top_level
    union all
    select * from nested_in_progress
)
select
    *,
    from_json(usage_json, '{
        "input_tokens": "JSON", "output_tokens": "JSON",
        "cache_creation_input_tokens": "JSON", "cache_read_input_tokens": "JSON",
        "cache_creation": {"ephemeral_5m_input_tokens": "JSON", "ephemeral_1h_input_tokens": "JSON"}
    }') as usage,
    list_filter(
        json_keys(usage_json),
        lambda key: key not in ('input_tokens', 'output_tokens', 'cache_creation_input_tokens',
                           'cache_read_input_tokens', 'cache_creation', 'server_tool_use', 'service_tier',
                           'inference_geo', 'iterations', 'speed')
    ) as unknown_usage_keys,
    try_cast(raw_timestamp as timestamptz)::timestamp as ts_utc
from snapshots;
