-- Handoffs with their load time and the saving against the orchestrator doing the task itself:
-- the target's tokens priced at the orchestrator's list price, minus what the target cost.
with handoffs as (
    select * from {{ ref('stg_raw__handoffs') }}
),

runs as (
    select * from {{ ref('stg_raw__ingest_runs') }}
),

prices as (
    select * from {{ ref('int_model_prices') }}
),

priced as (
    select
        handoffs.*,
        runs.started_at as loaded_at,
        case
            when handoffs.target_model = handoffs.orchestrator_model then 0.0
            when orchestrator_price.input_mtok is null or handoffs.cost_usd is null then null
            else {{ cost_at_price([('coalesce(handoffs.input_tokens, 0)', 'orchestrator_price.input_mtok'),
                                   ('coalesce(handoffs.output_tokens, 0)', 'orchestrator_price.output_mtok')]) }}
                - handoffs.cost_usd
        end as savings_usd
    from handoffs
    left join runs on runs.ingest_run_id = handoffs.ingest_run_id
    left join prices as orchestrator_price on orchestrator_price.model = handoffs.orchestrator_model
)

select * from priced
