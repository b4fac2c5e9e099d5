-- Projects with their product group, first and last activity; projects seen only in the facts are included.
with configured as (
    select project_id, org_id, team_id, project_name, project_group, true as is_configured
    from {{ ref('stg_raw__projects') }}
),

activity as (
    select
        project_id,
        min(org_id) as org_id,
        min(team_id) as team_id,
        min(day) as first_active_day,
        max(day) as last_active_day,
        sum(cost_usd) as lifetime_cost_usd,
        sum(total_tokens) as lifetime_tokens
    from {{ ref('fct_llm_calls') }}
    where project_id is not null
    group by project_id
),

all_projects as (
    select * from configured
    union all
    select project_id, org_id, team_id, project_id, project_id, false
    from activity
    where project_id not in (select project_id from configured)
),

final as (
    select
        all_projects.*,
        activity.first_active_day,
        activity.last_active_day,
        coalesce(activity.lifetime_cost_usd, 0) as lifetime_cost_usd,
        coalesce(activity.lifetime_tokens, 0) as lifetime_tokens
    from all_projects
    left join activity on activity.project_id = all_projects.project_id
)

select * from final
