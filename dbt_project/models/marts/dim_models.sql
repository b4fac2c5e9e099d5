-- Models each org used, with their list prices (USD per million tokens) and the org's usage totals. Keyed by
-- (org_id, model): an org sees only the models in its own calls and handoffs, never another org's usage.
with prices as (
    select * from {{ ref('int_model_prices') }}
),

calls as (
    select * from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
),

handoffs as (
    select * from {{ ref('fct_handoffs') }}
),

org_models as (
    select distinct org_id, model from calls
    union
    select distinct org_id, target_model from handoffs
    union
    select distinct org_id, orchestrator_model from handoffs where orchestrator_model is not null
),

usage as (
    select
        org_id,
        model,
        count(*) as calls,
        sum(total_tokens) as total_tokens,
        sum(cost_usd) as cost_usd,
        min(day) as first_seen_day,
        max(day) as last_seen_day
    from calls
    group by org_id, model
),

final as (
    select
        -- ids
        org_models.org_id,
        org_models.model,
        -- price (shared list prices: the same for every org)
        prices.provider,
        prices.matched_model,
        coalesce(prices.priced, false) as priced,
        prices.input_mtok as input_price_per_mtok,
        prices.output_mtok as output_price_per_mtok,
        prices.cache_read_mtok as cache_read_price_per_mtok,
        prices.cache_write_5m_mtok as cache_write_5m_price_per_mtok,
        prices.cache_write_1h_mtok as cache_write_1h_price_per_mtok,
        coalesce(prices.has_tiers, false) as has_tiers,
        coalesce(prices.time_dependent, false) as time_dependent,
        prices.price_source,
        prices.price_version,
        -- the org's usage
        coalesce(usage.calls, 0) as calls,
        coalesce(usage.total_tokens, 0) as total_tokens,
        usage.cost_usd,
        usage.first_seen_day,
        usage.last_seen_day
    from org_models
    left join prices on prices.model = org_models.model
    left join usage on usage.org_id = org_models.org_id and usage.model = org_models.model
)

select * from final
