-- One row per project and week of its life, from its first active week to the org's last week of data (quiet weeks
-- count as zero), with its lifecycle phase. The rule, simple on purpose:
--   weekly usage   = tokens in the week, scaled to 7 days when the org's data covers only part of the week
--   rolling usage  = mean weekly usage of the last `lifecycle_window_weeks` weeks (3; fewer in the first weeks)
--   peak           = the highest rolling usage of the project's life
--   steady         = from the first to the last week whose rolling usage reaches `lifecycle_steady_share` (50%)
--                    of the peak; weeks before are ramp-up, weeks after are wind-down.
-- Project totals over every team's rows: an org-level relation (a scope narrowed to a team reads none of it).
with usage as (
    select * from {{ ref('agg_usage_daily') }}
),

org_data_end as (
    select org_id, max(day) as last_day
    from usage
    group by org_id
),

weekly_usage as (
    select
        org_id,
        project_id,
        cast({{ dbt.date_trunc('week', 'day') }} as date) as week_start,
        sum(calls) as calls,
        sum(total_tokens) as total_tokens,
        sum(cost_usd) as cost_usd
    from usage
    where project_id is not null
    group by org_id, project_id, cast({{ dbt.date_trunc('week', 'day') }} as date)
),

calendar_weeks as (
    select distinct cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start
    from {{ ref('time_spine_daily') }}
),

project_weeks as (
    select
        weekly_usage.org_id,
        weekly_usage.project_id,
        min(weekly_usage.week_start) as first_week,
        max(org_data_end.last_day) as last_day
    from weekly_usage
    inner join org_data_end on org_data_end.org_id = weekly_usage.org_id
    group by weekly_usage.org_id, weekly_usage.project_id
),

zero_filled as (
    select
        project_weeks.org_id,
        project_weeks.project_id,
        calendar_weeks.week_start,
        -- days of this week inside the org's data (the last week may be partial)
        least(7, {{ dbt.datediff('calendar_weeks.week_start', 'project_weeks.last_day', 'day') }} + 1) as days_covered,
        coalesce(weekly_usage.calls, 0) as calls,
        coalesce(weekly_usage.total_tokens, 0) as total_tokens,
        weekly_usage.cost_usd
    from project_weeks
    inner join calendar_weeks
        on calendar_weeks.week_start >= project_weeks.first_week
        and calendar_weeks.week_start <= project_weeks.last_day
    left join weekly_usage
        on weekly_usage.org_id = project_weeks.org_id
        and weekly_usage.project_id = project_weeks.project_id
        and weekly_usage.week_start = calendar_weeks.week_start
),

smoothed as (
    select
        zero_filled.*,
        row_number() over project_life - 1 as life_week,
        avg(total_tokens * 7.0 / days_covered) over (
            project_life rows between {{ var('lifecycle_window_weeks', 3) - 1 }} preceding and current row
        ) as rolling_tokens
    from zero_filled
    window project_life as (partition by org_id, project_id order by week_start)
),

with_peak as (
    select
        smoothed.*,
        max(rolling_tokens) over (partition by org_id, project_id) as peak_rolling_tokens
    from smoothed
),

steady_span as (
    select
        with_peak.*,
        min(case when rolling_tokens >= {{ var('lifecycle_steady_share', 0.5) }} * peak_rolling_tokens then week_start end)
            over (partition by org_id, project_id) as steady_from,
        max(case when rolling_tokens >= {{ var('lifecycle_steady_share', 0.5) }} * peak_rolling_tokens then week_start end)
            over (partition by org_id, project_id) as steady_until
    from with_peak
),

final as (
    select
        -- ids
        {{ usage_key(['org_id', 'project_id', 'week_start']) }} as lifecycle_key,
        org_id,
        project_id,
        -- time
        week_start,
        life_week,
        days_covered,
        -- numerics
        calls,
        total_tokens,
        cost_usd,
        rolling_tokens,
        peak_rolling_tokens,
        case when peak_rolling_tokens > 0 then rolling_tokens / peak_rolling_tokens end as share_of_peak,
        -- phase
        case
            when week_start < steady_from then 'ramp-up'
            when week_start > steady_until then 'wind-down'
            else 'steady'
        end as phase
    from steady_span
)

select * from final
