-- Users: configured users plus any user id seen in the facts (unmapped users keep the id the log shows).
with configured as (
    select user_id, org_id, team_id, user_name, email, true as is_configured from {{ ref('stg_raw__users') }}
),

seen as (
    select user_id, min(org_id) as org_id, min(team_id) as team_id
    from (
        select user_id, org_id, team_id from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
        union all
        select user_id, org_id, team_id from {{ ref('fct_handoffs') }}
    ) as facts
    where user_id is not null
    group by user_id
),

final as (
    select * from configured
    union all
    select user_id, org_id, team_id, user_id, cast(null as {{ dbt.type_string() }}), false
    from seen
    where user_id not in (select user_id from configured)
)

select * from final
