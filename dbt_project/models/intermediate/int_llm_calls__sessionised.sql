-- Every call gets a session: its logged session id, or (for sources without one, such as OTel spans)
-- a session cut after var('session_gap_minutes') of inactivity per org, user and project.
with calls as (
    select * from {{ ref('int_llm_calls__deduplicated') }}
),

unlabelled as (
    select
        call_key,
        org_id,
        user_id,
        project_id,
        ts_utc,
        ts_utc - lag(ts_utc) over (partition by org_id, user_id, project_id order by ts_utc, call_key) as idle
    from calls
    where session_id is null
),

numbered as (
    select
        call_key,
        sum(case when idle is null or idle > interval '{{ var("session_gap_minutes") }} minutes' then 1 else 0 end)
            over (partition by org_id, user_id, project_id order by ts_utc, call_key rows unbounded preceding)
            as session_number
    from unlabelled
),

sessionised as (
    select
        calls.*,
        coalesce(
            calls.session_id,
            'gap:' || coalesce(calls.org_id, '') || ':' || coalesce(calls.user_id, '') || ':'
                || coalesce(calls.project_id, '') || ':' || cast(numbered.session_number as {{ dbt.type_string() }})
        ) as session_key
    from calls
    left join numbered on numbered.call_key = calls.call_key
),

-- an error Claude Code logged as `<synthetic>`: the model that failed (the rule: macros/synthetic_errors.sql)
attribution as (
    {{ synthetic_attribution('sessionised') }}
),

attributed as (
    select
        sessionised.*,
        attribution.attributed_model
    from sessionised
    left join attribution on attribution.call_key = sessionised.call_key
)

select * from attributed
