{#- Claude Code logs the error message it makes up after a failed API call under the model `<synthetic>`: the error
belongs to the model that failed. That is the session's model (its latest real call before the error, else the
first after it); a session of nothing but errors takes the model its user used most on the nearest day (a week).

One home for the rule: dbt (int_llm_calls__sessionised) and the usage reports (src/aioa/reports/usage.py, which
puts `calls` into this body while it is plain SQL, else renders it with jinja2) both use it. `calls` names a
relation or CTE with call_key, session_key, org_id, user_id, ts_utc and model; the result has one row (call_key,
attributed_model) per `<synthetic>` call that could be attributed. Plain SQL only (no dbt functions), read by
DuckDB and PostgreSQL. -#}
{% macro synthetic_attribution(calls) -%}
    with synthetic as (
        select call_key, session_key, org_id, user_id, ts_utc, cast(ts_utc as date) as day
        from {{ calls }}
        where model = '<synthetic>'
    ),

    real_calls as (  -- only the sessions with an error: a semi-join, not a join of every call
        select call_key, session_key, org_id, user_id, ts_utc, model
        from {{ calls }}
        where model <> '<synthetic>' and session_key in (select session_key from synthetic)
    ),

    -- the session's nearest real call: the latest at or before the error, else the first after it
    nearest as (
        select
            synthetic.call_key,
            synthetic.session_key,
            coalesce(
                max(case when real_calls.ts_utc <= synthetic.ts_utc then real_calls.ts_utc end),
                min(case when real_calls.ts_utc > synthetic.ts_utc then real_calls.ts_utc end)
            ) as nearest_ts
        from synthetic
        inner join real_calls on real_calls.session_key = synthetic.session_key
        group by synthetic.call_key, synthetic.session_key
    ),

    session_model as (  -- of calls at the same instant, the smallest key's
        select
            nearest.call_key,
            real_calls.model,
            row_number() over (partition by nearest.call_key order by real_calls.call_key) as nearness
        from nearest
        inner join real_calls
            on real_calls.session_key = nearest.session_key and real_calls.ts_utc = nearest.nearest_ts
    ),

    -- errors in sessions without a real call, and their users: only they need the users' daily model counts
    orphans as (
        select synthetic.*
        from synthetic
        where not exists (select 1 from nearest where nearest.call_key = synthetic.call_key)
    ),

    error_users as (
        select distinct org_id, user_id from orphans where user_id is not null
    ),

    user_day_models as (
        select
            real_calls.org_id,
            real_calls.user_id,
            cast(real_calls.ts_utc as date) as day,
            real_calls.model,
            count(*) as calls
        from {{ calls }} as real_calls  -- every session of the user, not only those with an error
        inner join error_users
            on error_users.org_id = real_calls.org_id and error_users.user_id = real_calls.user_id
        where real_calls.model <> '<synthetic>'
        group by real_calls.org_id, real_calls.user_id, cast(real_calls.ts_utc as date), real_calls.model
    ),

    user_model as (
        select
            orphans.call_key,
            user_day_models.model,
            row_number() over (
                partition by orphans.call_key
                order by abs(user_day_models.day - orphans.day), user_day_models.calls desc, user_day_models.model
            ) as nearness
        from orphans
        inner join user_day_models
            on user_day_models.org_id = orphans.org_id
            and user_day_models.user_id = orphans.user_id
            and user_day_models.day between orphans.day - 7 and orphans.day + 7
    )

    select
        synthetic.call_key,
        coalesce(session_model.model, user_model.model) as attributed_model
    from synthetic
    left join session_model on session_model.call_key = synthetic.call_key and session_model.nearness = 1
    left join user_model on user_model.call_key = synthetic.call_key and user_model.nearness = 1
    where coalesce(session_model.model, user_model.model) is not null
{%- endmacro %}
