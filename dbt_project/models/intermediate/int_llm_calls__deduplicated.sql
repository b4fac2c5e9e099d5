-- Billed responses, one per call_key, with the time their loading run started (drives incremental marts).
-- The readers already de-duplicate; this guards the marts against a key loaded twice by any future reader.
with calls as (
    select * from {{ ref('stg_raw__llm_calls') }}
),

runs as (
    select * from {{ ref('stg_raw__ingest_runs') }}
),

ranked as (
    select
        calls.*,
        runs.started_at as loaded_at,
        row_number() over (partition by calls.call_key order by runs.started_at desc, calls.source_line) as copy_rank
    from calls
    left join runs on runs.ingest_run_id = calls.ingest_run_id
)

select * from ranked where copy_rank = 1
