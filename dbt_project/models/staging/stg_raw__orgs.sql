-- Tenants from the attribution config.
select
    org_id,
    name as org_name,
    cast(monthly_budget_usd as double precision) as monthly_budget_usd
from {{ source('raw', 'orgs') }}
