-- Cost equals tokens × list price for every call priced from the library at a flat rate
-- (long-context tiers, time-of-day prices and override files are checked by the package's own tests).
with calls as (
    select * from {{ ref('fct_llm_calls') }} where price_status = 'priced'
),

flat_prices as (
    select * from {{ ref('dim_models') }} where priced and not has_tiers and not time_dependent
),

recomputed as (
    select
        calls.call_key,
        calls.model,
        calls.cost_usd,
        {{ cost_at_price([
            ('calls.input_tokens', 'flat_prices.input_price_per_mtok'),
            ('calls.output_tokens', 'flat_prices.output_price_per_mtok'),
            ('calls.cache_read_tokens', 'flat_prices.cache_read_price_per_mtok'),
            ('calls.cache_write_5m_tokens', 'flat_prices.cache_write_5m_price_per_mtok'),
            ('calls.cache_write_1h_tokens', 'flat_prices.cache_write_1h_price_per_mtok'),
        ]) }} as expected_cost_usd
    from calls
    inner join flat_prices on flat_prices.org_id = calls.org_id and flat_prices.model = calls.model
)

select * from recomputed where abs(cost_usd - expected_cost_usd) > 0.000000001
