-- Ingest runs: when each batch of rows was loaded (drives the incremental marts).
select
    ingest_run_id,
    source_system,
    cast(started_at as timestamp) as started_at,
    cast(finished_at as timestamp) as finished_at,
    status,
    rows_added,
    rows_updated,
    quarantined,
    flagged
from {{ source('raw', 'ingest_runs') }}
