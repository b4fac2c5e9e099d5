-- Teams from the attribution config.
select
    team_id,
    org_id,
    name as team_name
from {{ source('raw', 'teams') }}
