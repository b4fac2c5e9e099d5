-- Teams: configured teams plus any team id seen in the facts.
with configured as (
    select team_id, org_id, team_name, true as is_configured from {{ ref('stg_raw__teams') }}
),

seen as (
    select team_id, min(org_id) as org_id from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }} where team_id is not null group by team_id
),

final as (
    select * from configured
    union all
    select team_id, org_id, team_id, false from seen where team_id not in (select team_id from configured)
)

select * from final
