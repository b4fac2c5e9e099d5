-- Projects and the product group each rolls up to, from the attribution config.
select
    project_id,
    org_id,
    team_id,
    name as project_name,
    coalesce(project_group, project_id) as project_group
from {{ source('raw', 'projects') }}
