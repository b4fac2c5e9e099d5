{{ config(materialized='incremental', unique_key='usage_key', incremental_strategy='delete+insert') }}
-- Usage and spend per day, org, team, user, project and model. Incremental: every day that received
-- newly loaded calls is recomputed whole, so late-arriving data corrects its day.
with calls as (
    select * from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
),

{% if is_incremental() %}
touched_days as (
    select distinct day from calls where {{ loaded_since_last_run('loaded_at', 'last_loaded_at') }}
),
{% endif %}

day_calls as (
    select calls.*
    from calls
    {% if is_incremental() %}
    inner join touched_days on touched_days.day = calls.day
    {% endif %}
),

aggregated as (
    select
        day,
        org_id,
        team_id,
        user_id,
        project_id,
        project_group,
        provider,
        model,
        {{ usage_measures() }},
        count(distinct session_id) as sessions
    from day_calls
    group by day, org_id, team_id, user_id, project_id, project_group, provider, model
)

select
    {{ usage_key(['day', 'org_id', 'team_id', 'user_id', 'project_id', 'provider', 'model']) }} as usage_key,
    aggregated.*
from aggregated
