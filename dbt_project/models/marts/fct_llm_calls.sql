{{ config(materialized='incremental', unique_key='call_key', incremental_strategy='delete+insert') }}
-- One row per billed model response. Incremental: rows loaded (or updated with a more complete snapshot)
-- since the last build replace their earlier version by call_key, so late and corrected data land correctly.
with calls as (
    select * from {{ ref('int_llm_calls__sessionised') }}
    {% if is_incremental() %}
    where {{ loaded_since_last_run('loaded_at', 'loaded_at') }}
    {% endif %}
),

projects as (
    select org_id, project_id, project_group from {{ ref('stg_raw__projects') }}
),

final as (
    select
        -- ids
        calls.call_key,
        calls.org_id,
        calls.team_id,
        calls.user_id,
        calls.project_id,
        coalesce(projects.project_group, calls.project_id) as project_group,
        calls.session_key as session_id,
        calls.agent_id,
        coalesce(calls.is_subagent, false) as is_subagent,
        calls.message_id,
        calls.request_id,
        -- time
        calls.ts_utc,
        cast(calls.ts_utc as date) as day,
        {{ dbt.date_trunc('hour', 'calls.ts_utc') }} as hour,
        -- model
        calls.provider,
        -- an API error logged as `<synthetic>` counts against the model that failed
        coalesce(calls.attributed_model, calls.model) as model,
        -- tokens
        calls.input_tokens,
        calls.output_tokens,
        calls.cache_write_5m_tokens,
        calls.cache_write_1h_tokens,
        {{ cache_write_tokens('calls.') }} as cache_write_tokens,
        calls.cache_read_tokens,
        {{ total_tokens('calls.') }} as total_tokens,
        -- money
        calls.cost_usd,
        calls.price_status,
        calls.price_source,
        calls.price_version,
        -- outcome
        calls.latency_ms,
        calls.status,
        calls.is_error,
        calls.error,
        -- context
        calls.git_branch,
        calls.source_system,
        calls.source_file,
        calls.source_line,
        calls.loaded_at
    from calls
    -- a project id is a name within one org: another org's project of the same name is not this one
    left join projects on projects.org_id = calls.org_id and projects.project_id = calls.project_id
)

-- stored in time order: the app's date filters and "latest calls" then skip all but the last weeks' row groups
-- (on ten million calls the detail query reads ~15x less)
select * from final
order by ts_utc
