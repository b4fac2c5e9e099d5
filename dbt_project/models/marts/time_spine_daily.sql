-- One row per day over the data's span plus 60 days (MetricFlow's time spine; forecasts reach 30 days ahead).
{{ config(materialized='table') }}
with bounds as (
    select
        coalesce(min(day), current_date) as first_day,
        coalesce(max(day), current_date) as last_day
    from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
),

days as (
    {{ dbt.date_spine('day', "cast('2024-01-01' as date)", "cast('2028-01-01' as date)") }}
)

select cast(days.date_day as date) as date_day
from days
cross join bounds
where cast(days.date_day as date) between bounds.first_day and bounds.last_day + 60
