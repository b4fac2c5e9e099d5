{{ config(materialized='incremental', unique_key='usage_key', incremental_strategy='delete+insert') }}
-- Usage and spend per UTC hour, org, team, user, project and model (the anomaly detector's input).
with calls as (
    select * from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
),

{% if is_incremental() %}
touched_hours as (
    select distinct hour from calls where {{ loaded_since_last_run('loaded_at', 'last_loaded_at') }}
),
{% endif %}

hour_calls as (
    select calls.*
    from calls
    {% if is_incremental() %}
    inner join touched_hours on touched_hours.hour = calls.hour
    {% endif %}
),

aggregated as (
    select
        hour,
        cast(hour as date) as day,
        org_id,
        team_id,
        user_id,
        project_id,
        project_group,
        provider,
        model,
        {{ usage_measures() }}
    from hour_calls
    group by hour, org_id, team_id, user_id, project_id, project_group, provider, model
)

select
    {{ usage_key(['hour', 'org_id', 'team_id', 'user_id', 'project_id', 'provider', 'model']) }} as usage_key,
    aggregated.*
from aggregated
