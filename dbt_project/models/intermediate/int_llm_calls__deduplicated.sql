{{ config(materialized='incremental', unique_key='call_key', incremental_strategy='delete+insert') }}
-- Billed responses, one per call_key, with the time their loading run started (drives incremental marts).
-- The readers already de-duplicate; this guards the marts against a key loaded twice by any future reader.
with calls as (
    select * from {{ ref('stg_raw__llm_calls') }}
),

runs as (
    select * from {{ ref('stg_raw__ingest_runs') }}
),

-- A table built incrementally: as a view, every incremental build re-ranked all ten million calls. Rows loaded
-- since the last build always win over earlier copies of their key (newer run), so ranking only them is enough.
loaded as (
    select
        calls.*,
        runs.started_at as loaded_at
    from calls
    left join runs on runs.ingest_run_id = calls.ingest_run_id
    {% if is_incremental() %}
    where {{ loaded_since_last_run('runs.started_at', 'loaded_at') }}
    {% endif %}
),

ranked as (
    select
        loaded.*,
        row_number() over (partition by loaded.call_key order by loaded.loaded_at desc, loaded.source_line)
            as copy_rank
    from loaded
)

select * from ranked where copy_rank = 1
