{{ config(materialized='incremental', unique_key='handoff_id', incremental_strategy='delete+insert') }}
-- One row per task delegated from an orchestrating model to a target model, with its outcome and saving.
with handoffs as (
    select * from {{ ref('int_handoffs__priced') }}
    {% if is_incremental() %}
    where {{ loaded_since_last_run('loaded_at', 'loaded_at') }}
    {% endif %}
),

final as (
    select
        -- ids
        handoff_id,
        org_id,
        team_id,
        user_id,
        project_id,
        session_id,
        task_id,
        -- time
        ts_utc,
        cast(ts_utc as date) as day,
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
        cost_usd,
        savings_usd,
        latency_ms,
        alternatives_json,
        source_system,
        loaded_at
    from handoffs
)

select * from final
