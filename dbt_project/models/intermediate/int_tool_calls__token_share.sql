-- Tool calls with their load time and their share of the calling response's tokens
-- (a response that called three tools gives each a third of its tokens).
with tools as (
    select * from {{ ref('stg_raw__tool_calls') }}
),

runs as (
    select * from {{ ref('stg_raw__ingest_runs') }}
),

calls as (
    select session_id, message_id, {{ total_tokens() }} as total_tokens
    from {{ ref('int_llm_calls__deduplicated') }}
    where message_id is not null
),

tools_per_message as (
    select session_id, message_id, count(*) as tools_in_message
    from tools
    where message_id is not null
    group by session_id, message_id
),

-- only messages that called a tool: joining before grouping keeps millions of tool-less calls out of the hash table
calls_per_message as (
    select calls.session_id, calls.message_id, max(calls.total_tokens) as total_tokens
    from calls
    inner join tools_per_message
        on tools_per_message.session_id = calls.session_id and tools_per_message.message_id = calls.message_id
    group by calls.session_id, calls.message_id
),

shared as (
    select
        tools.*,
        runs.started_at as loaded_at,
        cast(calls_per_message.total_tokens as double precision) / tools_per_message.tools_in_message
            as attributed_tokens
    from tools
    left join runs on runs.ingest_run_id = tools.ingest_run_id
    left join tools_per_message
        on tools_per_message.session_id = tools.session_id and tools_per_message.message_id = tools.message_id
    left join calls_per_message
        on calls_per_message.session_id = tools.session_id and calls_per_message.message_id = tools.message_id
)

select * from shared
