-- List price per model (USD per million tokens) as resolved at the last ingest.
select
    provider,
    model,
    matched_model,
    input_mtok,
    output_mtok,
    cache_read_mtok,
    cache_write_5m_mtok,
    cache_write_1h_mtok,
    has_tiers,
    time_dependent,
    price_source,
    price_version,
    priced
from {{ source('raw', 'model_prices') }}
