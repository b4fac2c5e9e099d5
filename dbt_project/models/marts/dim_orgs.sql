-- Tenants: configured orgs plus any org id seen in the facts (e.g. `default` for unmapped usage).
with configured as (
    select org_id, org_name, monthly_budget_usd, true as is_configured from {{ ref('stg_raw__orgs') }}
),

seen as (
    select distinct org_id from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
    union
    select distinct org_id from {{ ref('fct_handoffs') }}
),

final as (
    select * from configured
    union all
    select org_id, org_id as org_name, cast(null as double precision), false
    from seen
    where org_id not in (select org_id from configured)
)

select * from final
