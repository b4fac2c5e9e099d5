"""Deep analytics readers: how people and teams work (active hours, session length, models and tools, cost per
session), each project's lifecycle phase, and frequent workflow patterns with their support and lift. Every query
applies the tenant scope and binds its values; column names come from the literal maps below."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd

from aioa.analytics.filters import Filters, where

Connection = duckdb.DuckDBPyConnection

# Who a behaviour view is about: the only column names a caller's choice puts into SQL text.
MEMBER_COLUMNS = {"team": "team_id", "user": "user_id"}
SEQUENCE_KINDS = ("tool", "task")


def _frame(connection: Connection, sql: str, params: dict) -> pd.DataFrame:
    return connection.cursor().execute(sql, params).df()


def _member_clause(clause: str, params: dict, member: tuple[str, str] | None, prefix: str = "") -> str:
    """`clause` narrowed to one team or one user (`member` = ("team"|"user", id)), the id bound."""
    if member is None:
        return clause
    kind, value = member
    params["member_value"] = value
    return f"{clause} and {prefix}{MEMBER_COLUMNS[kind]} = $member_value"


def active_hours(
    connection: Connection, filters: Filters, scope, member: tuple[str, str] | None = None
) -> pd.DataFrame:
    """Calls and spend per weekday (1 = Monday) and UTC hour of day, over the selection (or one team or user)."""
    clause, params = where(filters, scope, relation="marts.agg_usage_hourly")
    clause = _member_clause(clause, params, member)
    return _frame(
        connection,
        f"""
        select extract(isodow from hour) as weekday, extract(hour from hour) as hour_of_day, sum(calls) as calls,
               sum(cost_usd) as cost_usd, count(distinct user_id) as users
        from marts.agg_usage_hourly {clause}
        group by all order by weekday, hour_of_day""",
        params,
    )


def behaviour_by(connection: Connection, filters: Filters, scope, dimension: str) -> pd.DataFrame:
    """Per team or user: sessions, how long they last and what they cost (median and 90th percentile), calls and tool
    calls per session, distinct models and tools used, the most used of each, and the busiest UTC hour."""
    column = MEMBER_COLUMNS[dimension]
    sessions_clause, params = where(filters, scope, relation="marts.fct_sessions")
    usage_clause, usage_params = where(filters, scope, relation="marts.agg_usage_daily")
    tools_clause, tools_params = where(filters, scope, relation="marts.agg_tool_usage_daily")
    hours_clause, hours_params = where(filters, scope, relation="marts.agg_usage_hourly")
    params |= usage_params | tools_params | hours_params  # same names, same values: one set of filters
    return _frame(
        connection,
        f"""
        with sessions as (
            select {column} as member, count(*) as sessions,
                   median(duration_minutes) as median_session_minutes,
                   quantile_cont(duration_minutes, 0.9) as p90_session_minutes,
                   sum(cost_usd) as cost_usd, median(cost_usd) as median_session_cost_usd,
                   sum(cost_usd) / nullif(count(cost_usd), 0) as cost_per_session_usd,
                   quantile_cont(cost_usd, 0.9) as p90_session_cost_usd,
                   avg(calls) as calls_per_session, avg(tool_calls) as tool_calls_per_session,
                   count(distinct day) as active_days
            from marts.fct_sessions {sessions_clause} group by all),
        models as (
            select {column} as member, count(distinct model) as models_used, arg_max(model, calls) as top_model
            from (select {column}, model, sum(calls) as calls from marts.agg_usage_daily {usage_clause} group by all)
            group by all),
        tools as (
            select {column} as member, count(distinct tool_name) as tools_used, arg_max(tool_name, calls) as top_tool
            from (select {column}, tool_name, sum(tool_calls) as calls
                  from marts.agg_tool_usage_daily {tools_clause} group by all)
            group by all),
        hours as (
            select {column} as member, arg_max(hour_of_day, calls) as busiest_hour
            from (select {column}, extract(hour from hour) as hour_of_day, sum(calls) as calls
                  from marts.agg_usage_hourly {hours_clause} group by all)
            group by all)
        select sessions.member as {dimension}, sessions.sessions, sessions.median_session_minutes,
               sessions.p90_session_minutes, sessions.cost_usd, sessions.median_session_cost_usd,
               sessions.cost_per_session_usd, sessions.p90_session_cost_usd, sessions.calls_per_session,
               sessions.tool_calls_per_session, sessions.active_days, models.models_used, models.top_model,
               tools.tools_used, tools.top_tool, hours.busiest_hour
        from sessions
        left join models on models.member is not distinct from sessions.member
        left join tools on tools.member is not distinct from sessions.member
        left join hours on hours.member is not distinct from sessions.member
        order by sessions desc, 1""",
        params,
    )


def models_used(connection: Connection, filters: Filters, scope, dimension: str) -> pd.DataFrame:
    """Per team or user and model: calls, spend and the model's share of that member's calls."""
    column = MEMBER_COLUMNS[dimension]
    clause, params = where(filters, scope, relation="marts.agg_usage_daily")
    return _frame(
        connection,
        f"""
        select {column} as {dimension}, model, sum(calls) as calls, sum(cost_usd) as cost_usd,
               sum(calls) / sum(sum(calls)) over (partition by {column}) as share_of_calls
        from marts.agg_usage_daily {clause}
        group by {column}, model order by 1, calls desc, model""",
        params,
    )


def tools_used(connection: Connection, filters: Filters, scope, dimension: str) -> pd.DataFrame:
    """Per team or user and tool: tool calls, failures and the tool's share of that member's tool calls."""
    column = MEMBER_COLUMNS[dimension]
    clause, params = where(filters, scope, relation="marts.agg_tool_usage_daily")
    return _frame(
        connection,
        f"""
        select {column} as {dimension}, tool_name, sum(tool_calls) as tool_calls, sum(failures) as failures,
               sum(tool_calls) / sum(sum(tool_calls)) over (partition by {column}) as share_of_tool_calls
        from marts.agg_tool_usage_daily {clause}
        group by {column}, tool_name order by 1, tool_calls desc, tool_name""",
        params,
    )


def project_phases(connection: Connection, filters: Filters, scope) -> pd.DataFrame:
    """Every project's weekly usage and lifecycle phase over its whole life (the org and project filters apply, the
    date range does not: a phase is judged against the project's whole curve). Org-level totals: a scope narrowed
    to a team or a user reads no rows."""
    clause, params = where(replace(filters, start=None, end=None), scope, relation="marts.agg_project_lifecycle_weekly")
    return _frame(
        connection,
        f"""
        select org_id, project_id, week_start, life_week, days_covered, calls, total_tokens, cost_usd,
               rolling_tokens, share_of_peak, phase
        from marts.agg_project_lifecycle_weekly {clause}
        order by org_id, project_id, week_start""",
        params,
    )


def current_phases(phases: pd.DataFrame) -> pd.DataFrame:
    """Per project: its phase in its latest week, since when, its peak week and its age (from `project_phases`)."""
    if phases.empty:
        return pd.DataFrame(
            columns=["org_id", "project_id", "phase", "phase_since", "peak_week", "life_weeks", "share_of_peak"]
        )
    ordered = phases.sort_values(["org_id", "project_id", "week_start"])
    keys = ["org_id", "project_id"]
    run = (ordered["phase"] != ordered.groupby(keys)["phase"].shift()).groupby([ordered[k] for k in keys]).cumsum()
    ordered = ordered.assign(run=run)
    last = ordered.groupby(keys).tail(1).set_index(keys)
    since = ordered.merge(last[["run"]].reset_index(), on=[*keys, "run"]).groupby(keys)["week_start"].min()
    peak = ordered.loc[ordered.groupby(keys)["rolling_tokens"].idxmax(), [*keys, "week_start"]].set_index(keys)
    return (
        last.assign(
            phase_since=since,
            peak_week=peak["week_start"],
            life_weeks=last["life_week"] + 1,
        )[["phase", "phase_since", "peak_week", "life_weeks", "share_of_peak"]]
        .reset_index()
        .sort_values(keys)
        .reset_index(drop=True)
    )


def phase_spans(phases: pd.DataFrame) -> pd.DataFrame:
    """Each project's phases as spans (from `project_phases`): phase, first week, the day after its last week, and
    its weeks, in order (a timeline of the project's life)."""
    columns = ["org_id", "project_id", "phase", "start", "finish", "weeks"]
    if phases.empty:
        return pd.DataFrame(columns=columns)
    ordered = phases.sort_values(["org_id", "project_id", "week_start"])
    keys = [ordered["org_id"], ordered["project_id"]]
    run = (ordered["phase"] != ordered.groupby(keys)["phase"].shift()).groupby(keys).cumsum()
    spans = (
        ordered.assign(run=run)
        .groupby(["org_id", "project_id", "run"], as_index=False)
        .agg(phase=("phase", "first"), start=("week_start", "min"), last=("week_start", "max"), weeks=("phase", "size"))
    )
    spans["start"] = pd.to_datetime(spans["start"])
    spans["finish"] = pd.to_datetime(spans["last"]) + pd.Timedelta(days=7)
    return spans[columns]


def workflow_patterns(
    connection: Connection,
    filters: Filters,
    scope,
    *,
    kind: str = "tool",
    lengths: tuple[int, int] = (2, 3),
    min_sessions: int = 3,
    expensive_share: float = 0.1,
    limit: int = 200,
) -> pd.DataFrame:
    """Frequent step sequences of the sessions in the selection, with their support and lift.

    The population is every session with steps of `kind` (tool calls, or handoff task types) the selection holds.
    `support` = sessions containing the pattern ÷ sessions; `error_lift` = the error rate of those sessions ÷ the
    error rate of all sessions (> 1: sessions with this sequence go wrong more often); `expensive_lift` the same for
    expensive sessions (cost in the top `expensive_share` of the population); `failure_after_share` = share of the
    pattern's occurrences whose next step failed. Patterns seen in fewer than `min_sessions` sessions are left out."""
    if kind not in SEQUENCE_KINDS:
        raise ValueError(f"unknown sequence kind {kind!r}: use one of {', '.join(SEQUENCE_KINDS)}")
    clause, params = where(filters, scope, relation="marts.fct_session_sequences")
    params |= {
        "kind": kind,
        "min_length": lengths[0],
        "max_length": lengths[1],
        "min_sessions": min_sessions,
        "expensive_quantile": 1 - expensive_share,
        "row_limit": limit,
    }
    return _frame(
        connection,
        f"""
        with sequences as (
            select * from marts.fct_session_sequences {clause} and sequence_kind = $kind),
        sessions as (
            select session_key, bool_or(session_has_error) as has_error, max(session_cost_usd) as cost_usd
            from sequences group by session_key),
        threshold as (
            select quantile_cont(cost_usd, $expensive_quantile) as expensive_from from sessions),
        flagged as (
            select session_key, has_error, coalesce(cost_usd >= expensive_from, false) as is_expensive
            from sessions cross join threshold),
        population as (
            select count(*) as sessions, avg(case when has_error then 1.0 else 0.0 end) as error_rate,
                   avg(case when is_expensive then 1.0 else 0.0 end) as expensive_rate
            from flagged),
        patterns as (
            select sequences.pattern, min(sequences.pattern_length) as steps, count(*) as sessions,
                   sum(sequences.occurrences) as occurrences, sum(sequences.followed_by_failure) as followed_by_failure,
                   avg(case when flagged.has_error then 1.0 else 0.0 end) as error_rate,
                   avg(case when flagged.is_expensive then 1.0 else 0.0 end) as expensive_rate
            from sequences join flagged on flagged.session_key = sequences.session_key
            where sequences.pattern_length between $min_length and $max_length
            group by sequences.pattern)
        select patterns.pattern, patterns.steps, patterns.sessions,
               patterns.sessions / population.sessions as support, patterns.occurrences,
               patterns.followed_by_failure / patterns.occurrences as failure_after_share,
               patterns.error_rate as error_session_share,
               patterns.error_rate / nullif(population.error_rate, 0) as error_lift,
               patterns.expensive_rate as expensive_session_share,
               patterns.expensive_rate / nullif(population.expensive_rate, 0) as expensive_lift,
               population.sessions as population_sessions
        from patterns cross join population
        where patterns.sessions >= $min_sessions
        order by patterns.sessions desc, patterns.pattern limit $row_limit""",
        params,
    )
