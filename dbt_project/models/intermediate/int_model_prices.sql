-- One list price per model name (a model logged by several readers keeps the row that names its provider).
with prices as (
    select * from {{ ref('stg_raw__model_prices') }}
),

ranked as (
    select
        prices.*,
        row_number() over (partition by model order by case when provider is null then 1 else 0 end, provider)
            as provider_rank
    from prices
)

select * from ranked where provider_rank = 1
