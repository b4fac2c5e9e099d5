-- Shape the valid snapshots as llm_call rows (still one row per snapshot; the merge keeps the most complete).
create or replace temp table stage_llm_calls as
select
    -- ids
    'claude_code:' || coalesce(message_id, '') || ':' || coalesce(request_id, '')
        || case when message_id is null and request_id is null
                then coalesce(record_uuid, files.path || ':' || line_no::varchar) else '' end as call_key,
    cast(null as varchar) as org_id,
    cast(null as varchar) as team_id,
    cast(null as varchar) as user_id,
    cast(null as varchar) as project_id,
    session_id,
    agent_id,
    agent_id <> 'main' as is_subagent,
    message_id,
    request_id,
    -- time and model
    ts_utc,
    'anthropic' as provider,
    model,
    -- tokens; when the 5m/1h split is absent all cache writes are 5-minute writes (the API default)
    input_tokens,
    output_tokens,
    greatest(cache_creation_tokens - coalesce(split_1h_tokens, 0), 0) as cache_write_5m_tokens,
    least(coalesce(split_1h_tokens, 0), cache_creation_tokens) as cache_write_1h_tokens,
    cache_read_tokens,
    -- money (filled by pricing)
    cast(null as decimal(20, 10)) as cost_usd,
    case when model = '<synthetic>' then 'not_billed' else 'pending' end as price_status,
    cast(null as varchar) as price_source,
    cast(null as varchar) as price_version,
    cast(null as bigint) as latency_ms,
    -- outcome
    case when model = '<synthetic>' or is_api_error then 'error' else 'ok' end as status,
    case when model = '<synthetic>' or is_api_error
         then left(first_text, 1000) end as error,
    cwd,
    git_branch,
    client_version,
    -- lineage
    'claude_code' as source_system,
    files.path as source_file,
    line_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id,
    getvariable('contract_version') as contract_version,
    -- attribution hints
    files.config_dir as hint_config_dir,
    cast(null as varchar) as hint_user,
    cast(null as varchar) as hint_org,
    cast(null as varchar) as hint_project,
    cast(null as varchar) as hint_host
from cc_checked
join batch_files as files using (file_idx)
where len(problems) = 0;
