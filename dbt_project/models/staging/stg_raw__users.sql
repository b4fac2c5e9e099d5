-- Users from the attribution config.
select
    user_id,
    org_id,
    team_id,
    name as user_name,
    email
from {{ source('raw', 'users') }}
