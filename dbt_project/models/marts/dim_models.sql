-- Models seen in the facts with their list prices (USD per million tokens) and usage totals.
with prices as (
    select * from {{ ref('int_model_prices') }}
),

usage as (
    select model, count(*) as calls, sum(total_tokens) as total_tokens, sum(cost_usd) as cost_usd,
           min(day) as first_seen_day, max(day) as last_seen_day
    from {{ ref('fct_llm_calls') }}
    group by model
),

final as (
    select
        prices.model,
        prices.provider,
        prices.matched_model,
        prices.priced,
        prices.input_mtok as input_price_per_mtok,
        prices.output_mtok as output_price_per_mtok,
        prices.cache_read_mtok as cache_read_price_per_mtok,
        prices.cache_write_5m_mtok as cache_write_5m_price_per_mtok,
        prices.cache_write_1h_mtok as cache_write_1h_price_per_mtok,
        coalesce(prices.has_tiers, false) as has_tiers,
        coalesce(prices.time_dependent, false) as time_dependent,
        prices.price_source,
        prices.price_version,
        coalesce(usage.calls, 0) as calls,
        coalesce(usage.total_tokens, 0) as total_tokens,
        usage.cost_usd,
        usage.first_seen_day,
        usage.last_seen_day
    from prices
    left join usage on usage.model = prices.model
)

select * from final
