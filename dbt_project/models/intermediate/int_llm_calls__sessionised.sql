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

-- Claude Code logs the error message it makes up after a failed API call under the model `<synthetic>`: the error
-- belongs to the model that failed. That is the session's model (its latest real call before the error, else the
-- first after it); a session of nothing but errors takes the model its user used most on the nearest day (a week).
synthetic as (
    select call_key, session_key, org_id, user_id, ts_utc, cast(ts_utc as date) as day
    from sessionised
    where model = '<synthetic>'
),

real_calls as (
    select call_key, session_key, org_id, user_id, ts_utc, model
    from sessionised
    where model <> '<synthetic>'
),

session_model as (
    select
        synthetic.call_key,
        real_calls.model,
        row_number() over (
            partition by synthetic.call_key
            order by
                case when real_calls.ts_utc <= synthetic.ts_utc then 0 else 1 end,
                case when real_calls.ts_utc <= synthetic.ts_utc then real_calls.ts_utc end desc nulls last,
                real_calls.ts_utc,
                real_calls.call_key
        ) as nearness
    from synthetic
    inner join real_calls on real_calls.session_key = synthetic.session_key
),

user_day_models as (
    select
        org_id,
        user_id,
        cast(ts_utc as date) as day,
        model,
        count(*) as calls
    from real_calls
    where user_id is not null
    group by org_id, user_id, cast(ts_utc as date), model
),

user_model as (
    select
        synthetic.call_key,
        user_day_models.model,
        row_number() over (
            partition by synthetic.call_key
            order by abs(user_day_models.day - synthetic.day), user_day_models.calls desc, user_day_models.model
        ) as nearness
    from synthetic
    inner join user_day_models
        on user_day_models.org_id = synthetic.org_id
        and user_day_models.user_id = synthetic.user_id
        and user_day_models.day between synthetic.day - 7 and synthetic.day + 7
),

attributed as (
    select
        sessionised.*,
        coalesce(session_model.model, user_model.model) as attributed_model
    from sessionised
    left join session_model on session_model.call_key = sessionised.call_key and session_model.nearness = 1
    left join user_model on user_model.call_key = sessionised.call_key and user_model.nearness = 1
)

select * from attributed
