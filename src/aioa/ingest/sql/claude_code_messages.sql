-- One row per model-response snapshot (top-level assistant lines and subagent responses nested in progress lines),
-- validated and with typed tokens; the merge later keeps the most complete snapshot of each call.
-- Built in one statement and kept narrow: every extra materialised copy of wide rows cost more than the parsing.
create or replace temp table cc_checked as
with records as (
    select * from cc_records where is_valid_json
),
top_level as (
    select
        file_idx, line_no,
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
        file_idx, line_no,
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
),
typed as (
    select
        * exclude (content),
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
        try_cast(raw_timestamp as timestamptz)::timestamp as ts_utc,
        -- only what the tool and error columns need, not the whole content list
        [{'id': block.id, 'name': block.name, 'subagent_type': block.input.subagent_type}
         for block in content if block.type = 'tool_use'] as tool_uses,
        list_extract(list_filter(content, lambda block: block.type = 'text'), 1).text as first_text
    from snapshots
),
token_fields as (
    select
        * exclude (usage),
        {
            'input_tokens': usage.input_tokens,
            'output_tokens': usage.output_tokens,
            'cache_creation_input_tokens': usage.cache_creation_input_tokens,
            'cache_read_input_tokens': usage.cache_read_input_tokens,
            'cache_creation.ephemeral_5m_input_tokens': usage.cache_creation.ephemeral_5m_input_tokens,
            'cache_creation.ephemeral_1h_input_tokens': usage.cache_creation.ephemeral_1h_input_tokens
        } as raw_tokens
    from typed
),
problems as (
    select
        *,
        list_filter(
            [
                case when ts_utc is null then 'invalid or missing timestamp' end,
                case when model is null then 'missing message.model' end,
                case when raw_tokens['input_tokens'] is not null
                      and not regexp_full_match(raw_tokens['input_tokens'], '[0-9]+')
                     then 'wrong type for usage.input_tokens: ' || raw_tokens['input_tokens'] end,
                case when raw_tokens['output_tokens'] is not null
                      and not regexp_full_match(raw_tokens['output_tokens'], '[0-9]+')
                     then 'wrong type for usage.output_tokens: ' || raw_tokens['output_tokens'] end,
                case when raw_tokens['cache_creation_input_tokens'] is not null
                      and not regexp_full_match(raw_tokens['cache_creation_input_tokens'], '[0-9]+')
                     then 'wrong type for usage.cache_creation_input_tokens: '
                          || raw_tokens['cache_creation_input_tokens'] end,
                case when raw_tokens['cache_read_input_tokens'] is not null
                      and not regexp_full_match(raw_tokens['cache_read_input_tokens'], '[0-9]+')
                     then 'wrong type for usage.cache_read_input_tokens: '
                          || raw_tokens['cache_read_input_tokens'] end,
                case when raw_tokens['cache_creation.ephemeral_5m_input_tokens'] is not null
                      and not regexp_full_match(raw_tokens['cache_creation.ephemeral_5m_input_tokens'], '[0-9]+')
                     then 'wrong type for usage.cache_creation.ephemeral_5m_input_tokens' end,
                case when raw_tokens['cache_creation.ephemeral_1h_input_tokens'] is not null
                      and not regexp_full_match(raw_tokens['cache_creation.ephemeral_1h_input_tokens'], '[0-9]+')
                     then 'wrong type for usage.cache_creation.ephemeral_1h_input_tokens' end
            ],
            lambda problem: problem is not null
        ) as problems
    from token_fields
)
select
    * exclude (raw_tokens),
    coalesce(try_cast(raw_tokens['input_tokens'] as bigint), 0) as input_tokens,
    coalesce(try_cast(raw_tokens['output_tokens'] as bigint), 0) as output_tokens,
    coalesce(try_cast(raw_tokens['cache_creation_input_tokens'] as bigint), 0) as cache_creation_tokens,
    coalesce(try_cast(raw_tokens['cache_read_input_tokens'] as bigint), 0) as cache_read_tokens,
    try_cast(raw_tokens['cache_creation.ephemeral_1h_input_tokens'] as bigint) as split_1h_tokens,
    try_cast(raw_tokens['cache_creation.ephemeral_5m_input_tokens'] as bigint) as split_5m_tokens
from problems;
