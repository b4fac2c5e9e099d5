-- One row per delegated task: renaming and typing only.
with source as (
    select * from {{ source('raw', 'handoffs') }}
),

renamed as (
    select
        -- ids
        handoff_id,
        org_id,
        team_id,
        user_id,
        project_id,
        session_id,
        task_id,
        ingest_run_id,
        -- task
        task_text,
        task_type,
        -- routing decision
        orchestrator_model,
        target_model,
        reason,
        router_version,
        predicted_route,
        router_confidence,
        propensity,
        -- outcome
        success,
        quality_score,
        outcome_verified,
        error,
        input_tokens,
        output_tokens,
        cast(cost_usd as double precision) as cost_usd,
        latency_ms,
        cast(alternatives as {{ dbt.type_string() }}) as alternatives_json,
        source_system,
        -- timestamps
        cast(ts_utc as timestamp) as ts_utc
    from source
)

select * from renamed
