-- Tool calls (tool_use blocks of responses) and their results (tool_result blocks of user lines).
create or replace temp table stage_tool_calls as
with uses as (
    select
        checked.file_idx, checked.line_no, checked.session_id, checked.agent_id, checked.message_id,
        checked.ts_utc, checked.cwd, unnest(checked.tool_uses) as block
    from cc_checked as checked
    where len(checked.problems) = 0
),
named as (
    select *, block.id as tool_use_id, block.name as tool_name, mcp_names(block.name) as mcp
    from uses where block.id is not null
)
select
    'claude_code:' || tool_use_id as tool_call_key,
    cast(null as varchar) as org_id,
    cast(null as varchar) as team_id,
    cast(null as varchar) as user_id,
    cast(null as varchar) as project_id,
    session_id,
    agent_id,
    message_id,
    tool_use_id,
    ts_utc,
    coalesce(tool_name, 'unknown') as tool_name,
    starts_with(coalesce(tool_name, ''), 'mcp__') as is_mcp,
    mcp.server as mcp_server,
    mcp.tool as mcp_tool,
    mcp.plugin as mcp_plugin,
    case when tool_name in ('Task', 'Agent') then block.subagent_type end as subagent_type,
    cast(null as boolean) as success,
    cast(null as bigint) as duration_ms,
    cast(null as varchar) as error,
    'claude_code' as source_system,
    files.path as source_file,
    line_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id,
    getvariable('contract_version') as contract_version,
    files.config_dir as hint_config_dir,
    cast(null as varchar) as hint_user,
    cast(null as varchar) as hint_org,
    cast(null as varchar) as hint_project,
    cast(null as varchar) as hint_host,
    cwd
from named
join batch_files as files using (file_idx);

-- Every result is staged with its line's attribution hints: it is attributed like the transcript's other rows, and
-- de-duplicated per (org, tool-use id) only then (apply_tool_results), so a result another org's file holds for
-- the same id can neither complete this org's call nor hide this org's own result.
create or replace temp table stage_tool_results as
with result_lines as (
    select
        file_idx,
        line_no,
        record.cwd as cwd,
        record.timestamp as raw_timestamp,
        case when record.type = 'user' then record.message.content
             when record.type = 'progress' and record.data.message.type = 'user'
                  then record.data.message.message.content end as content
    from cc_records
    where is_valid_json and record.type in ('user', 'progress')
),
results as (
    select file_idx, line_no, cwd, raw_timestamp,
           unnest(list_filter(content, lambda block: block.type = 'tool_result')) as block
    from result_lines
    where content is not null
)
select
    'claude_code:' || block.tool_use_id as tool_call_key,
    cast(null as varchar) as org_id,
    cast(null as varchar) as team_id,
    cast(null as varchar) as user_id,
    cast(null as varchar) as project_id,
    try_cast(raw_timestamp as timestamptz)::timestamp as result_ts_utc,
    not coalesce(block.is_error, false) as success,
    case when block.is_error then left(block.content, 500) end as error,
    'claude_code' as source_system,
    files.path as source_file,
    line_no as source_line,
    files.config_dir as hint_config_dir,
    cast(null as varchar) as hint_user,
    cast(null as varchar) as hint_org,
    cast(null as varchar) as hint_project,
    cast(null as varchar) as hint_host,
    cwd
from results
join batch_files as files using (file_idx)
where block.tool_use_id is not null;
