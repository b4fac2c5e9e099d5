-- Projects per org with their product group, first and last activity and lifetime totals; projects seen only in
-- the facts are included. Keyed by (org_id, project_id): two orgs may use the same project name, and each sees
-- only its own row and totals.
with configured as (
    select project_id, org_id, team_id, project_name, project_group, true as is_configured
    from {{ ref('stg_raw__projects') }}
),

activity as (
    select
        org_id,
        project_id,
        min(team_id) as team_id,
        min(day) as first_active_day,
        max(day) as last_active_day,
        sum(cost_usd) as lifetime_cost_usd,
        sum(total_tokens) as lifetime_tokens
    from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
    where project_id is not null
    group by org_id, project_id
),

seen_only as (
    select activity.project_id, activity.org_id, activity.team_id, activity.project_id as project_name,
           activity.project_id as project_group, false as is_configured
    from activity
    left join configured
        on configured.org_id = activity.org_id and configured.project_id = activity.project_id
    where configured.project_id is null
),

all_projects as (
    select * from configured
    union all
    select * from seen_only
),

final as (
    select
        all_projects.*,
        activity.first_active_day,
        activity.last_active_day,
        coalesce(activity.lifetime_cost_usd, 0) as lifetime_cost_usd,
        coalesce(activity.lifetime_tokens, 0) as lifetime_tokens
    from all_projects
    left join activity
        on activity.org_id = all_projects.org_id and activity.project_id = all_projects.project_id
)

select * from final
