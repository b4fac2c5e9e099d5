"""Named queries for the dashboard pages. Aggregates are read from the marts' aggregate tables (fast on ten
million calls); detail rows come from the fact tables with a LIMIT. Every query applies the tenant scope."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd

from aioa.analytics.filters import DIMENSIONS, Filters, where
from aioa.metrics import METRICS
from aioa.warehouse.access import TenantScope
from aioa.warehouse.ml_tables import scoped_ml_table
from aioa.warehouse.relations import tenant_filter

Connection = duckdb.DuckDBPyConnection
USAGE = "marts.agg_usage_daily"


def _frame(connection: Connection, sql: str, params: dict) -> pd.DataFrame:
    return connection.cursor().execute(sql, params).df()


def table_exists(connection: Connection, schema: str, table: str) -> bool:
    return bool(
        connection.cursor()
        .execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        )
        .fetchone()[0]
    )


def filter_options(connection: Connection, scope: TenantScope) -> dict:
    """Values for the filter widgets (only the caller's orgs) and the data's date span."""
    clause, params = where(Filters(), scope, relation=USAGE)
    row = (
        connection.cursor()
        .execute(
            f"select min(day), max(day), list(distinct org_id order by org_id), "
            f"list(distinct team_id order by team_id) filter (where team_id is not null), "
            f"list(distinct project_id order by project_id) filter (where project_id is not null), "
            f"list(distinct model order by model) from marts.agg_usage_daily {clause}",
            params,
        )
        .fetchone()
    )
    return {
        "first_day": row[0],
        "last_day": row[1],
        "orgs": row[2] or [],
        "teams": row[3] or [],
        "projects": row[4] or [],
        "models": row[5] or [],
    }


_KPI_METRICS = {  # headline name -> registry metric over agg_usage_daily (savings: over fct_handoffs, below)
    "spend_usd": METRICS["spend"],
    "tokens": METRICS["tokens"],
    "calls": METRICS["calls"],
    "cache_hit_rate": METRICS["cache_hit_rate"],
    "error_rate": METRICS["error_rate"],
    "unpriced_calls": METRICS["unpriced_calls"],
}


def kpis(connection: Connection, filters: Filters, scope: TenantScope) -> dict:
    """Headline numbers for the period and the previous period of equal length.

    One statement reads both periods (conditional aggregates over the union of their days): one round trip
    instead of four keeps the Overview's first render fast on a busy machine."""
    previous = filters.previous_period()
    both = replace(filters, start=previous.start)
    clause, params = where(both, scope, relation=USAGE)
    handoff_clause, handoff_params = where(both, scope, relation="marts.fct_handoffs")
    params |= handoff_params  # same names, same values: both clauses come from the same filters
    periods = {
        name: _period_condition(period, name, params) for name, period in (("current", filters), ("previous", previous))
    }
    usage = ", ".join(
        f"coalesce({metric.sql(condition)}, 0) as {period}_{name}"
        for period, condition in periods.items()
        for name, metric in _KPI_METRICS.items()
    )
    savings = ", ".join(
        f"coalesce({METRICS['savings'].sql(condition)}, 0) as {period}_savings_usd"
        for period, condition in periods.items()
    )
    row = (
        connection.cursor()
        .execute(
            f"""
        with usage as (select {usage} from marts.agg_usage_daily {clause}),
             handoffs as (select {savings} from marts.fct_handoffs {handoff_clause})
        select * from usage cross join handoffs""",
            params,
        )
        .fetchone()
    )
    values = iter(float(value) for value in row)
    result = {period: {name: next(values) for name in _KPI_METRICS} for period in periods}
    for period in periods:
        result[period]["savings_usd"] = next(values)
    return result


def _period_condition(filters: Filters, name: str, params: dict) -> str:
    """`day` bounds of one period as SQL with bound parameters (`true` when the period is unbounded)."""
    conditions = []
    for bound, operator, value in (("start", ">=", filters.start), ("end", "<=", filters.end)):
        if value is not None:
            conditions.append(f"day {operator} ${name}_{bound}")
            params[f"{name}_{bound}"] = value
    return " and ".join(conditions) or "true"


def spend_by(connection: Connection, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    """Spend, tokens, calls and errors per value of one dimension (largest spend first)."""
    column = DIMENSIONS[dimension]
    clause, params = where(filters, scope, relation=USAGE)
    return _frame(
        connection,
        f"""
        select {column} as {column.replace("_id", "")}, {METRICS["spend"].sql()} as cost_usd,
               {METRICS["tokens"].sql()} as total_tokens, {METRICS["calls"].sql()} as calls,
               {METRICS["error_calls"].sql()} as error_calls, {METRICS["unpriced_calls"].sql()} as unpriced_calls
        from marts.agg_usage_daily {clause}
        group by 1 order by cost_usd desc nulls last, 1""",
        params,
    )


def daily_usage(connection: Connection, filters: Filters, scope: TenantScope, by: str | None = None) -> pd.DataFrame:
    """Spend and tokens per day, optionally split by one dimension."""
    clause, params = where(filters, scope, relation=USAGE)
    split = f", {DIMENSIONS[by]} as series" if by else ", 'all' as series"
    return _frame(
        connection,
        f"""
        select day{split}, sum(cost_usd) as cost_usd, sum(total_tokens) as total_tokens, sum(calls) as calls
        from marts.agg_usage_daily {clause} group by all order by day, series""",
        params,
    )


def detail_calls(
    connection: Connection,
    filters: Filters,
    scope: TenantScope,
    *,
    dimension: str | None = None,
    value: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The calls behind a number (drill-down), newest first."""
    clause, params = where(filters, scope, relation="marts.fct_llm_calls")
    if dimension and value is not None:
        clause += f" and cast({DIMENSIONS[dimension]} as varchar) = $drill_value"
        params["drill_value"] = str(value)
    params["row_limit"] = limit
    return _frame(
        connection,
        f"""
        select ts_utc, org_id, team_id, user_id, project_id, session_id, agent_id, model, input_tokens,
               output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, price_status, status, source_file,
               source_line
        from marts.fct_llm_calls {clause} order by ts_utc desc, call_key limit $row_limit""",
        params,
    )


# A project id is a name within one org (two orgs may both have `api`): projects are always joined on both.
_PROJECT_JOIN = "join marts.dim_projects p on p.org_id = u.org_id and p.project_id = u.project_id"
_LIFETIME_JOIN = "join lifetime l on l.org_id = u.org_id and l.project_id = u.project_id"


def _lifetime_cte(scope: TenantScope) -> tuple[str, dict]:
    """`lifetime`: each project's first and last active day and lifetime cost over every row `scope` may read (all
    time). Not dim_projects' totals: those count every team's calls, and a narrowed scope sees only its rows."""
    tenant_sql, params = tenant_filter(scope, USAGE)
    return (
        f"""lifetime as (
            select org_id, project_id, min(day) as first_active_day, max(day) as last_active_day,
                   sum(cost_usd) as lifetime_cost_usd
            from marts.agg_usage_daily where {tenant_sql} and project_id is not null group by all)""",
        params,
    )


def projects_overview(connection: Connection, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    """Per org, project group and project: spend in the period, lifetime totals and active span."""
    clause, params = where(filters, scope, relation=USAGE, prefix="u.")
    lifetime, lifetime_params = _lifetime_cte(scope)
    return _frame(
        connection,
        f"""
        with {lifetime}
        select u.org_id, p.project_group, u.project_id, sum(u.cost_usd) as cost_usd,
               sum(u.total_tokens) as total_tokens, sum(u.calls) as calls, count(distinct u.user_id) as users,
               min(l.first_active_day) as first_active_day, max(l.last_active_day) as last_active_day,
               max(l.lifetime_cost_usd) as lifetime_cost_usd
        from marts.agg_usage_daily u {_PROJECT_JOIN} {_LIFETIME_JOIN}
        {clause} group by all order by cost_usd desc nulls last, u.org_id, u.project_id""",
        params | lifetime_params,  # the same tenant parameters: both come from `scope`
    )


def project_lifecycle(connection: Connection, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    """Each project's weekly spend by week of its life (week 0 = its first active week the caller can see)."""
    clause, params = where(filters, scope, relation=USAGE, prefix="u.")
    lifetime, lifetime_params = _lifetime_cte(scope)
    return _frame(
        connection,
        f"""
        with {lifetime}
        select u.org_id, u.project_id, date_diff('week', l.first_active_day, u.day) as life_week,
               sum(u.cost_usd) as cost_usd, sum(u.total_tokens) as total_tokens
        from marts.agg_usage_daily u {_LIFETIME_JOIN}
        {clause} group by all order by u.org_id, u.project_id, life_week""",
        params | lifetime_params,
    )


def sessions_timeline(connection: Connection, filters: Filters, scope: TenantScope, limit: int = 300) -> pd.DataFrame:
    """Sessions (with subagent counts) and handoffs as timeline rows, most expensive sessions first."""
    clause, params = where(filters, scope, relation="marts.fct_sessions")
    params["row_limit"] = limit
    return _frame(
        connection,
        f"""
        select 'session' as kind, session_id as item, user_id, project_id, started_at as start, ended_at as finish,
               calls, subagents, subagent_calls, tool_calls, cost_usd, errors
        from marts.fct_sessions {clause}
        order by cost_usd desc nulls last, session_id limit $row_limit""",
        params,
    )


def handoff_summary(connection: Connection, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    """Per target model and task type: handoffs, measured success rate, quality, cost and savings."""
    clause, params = where(filters, scope, relation="marts.fct_handoffs")
    return _frame(
        connection,
        f"""
        select target_model, task_type, count(*) as handoffs,
               count(success) as with_known_outcome,
               {METRICS["handoff_success_rate"].sql()} as success_rate,
               avg(quality_score) as mean_quality, sum(cost_usd) as cost_usd, sum(savings_usd) as savings_usd,
               avg(case when outcome_verified then 1.0 else 0.0 end) as verified_share
        from marts.fct_handoffs {clause} group by all order by handoffs desc""",
        params,
    )


def handoff_task_types(connection: Connection, scope: TenantScope) -> list[str]:
    """The task types the caller's handoffs carry (what the router is asked about), most frequent first."""
    tenant_sql, params = tenant_filter(scope, "marts.fct_handoffs")
    rows = (
        connection.cursor()
        .execute(
            f"""
        select task_type from marts.fct_handoffs where {tenant_sql} and task_type is not null
        group by task_type order by count(*) desc, task_type""",
            params,
        )
        .fetchall()
    )
    return [row[0] for row in rows]


def mcp_tools(connection: Connection, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    """Per MCP server and tool: calls, success rate, mean latency and share of tokens."""
    clause, params = where(filters, scope, relation="marts.agg_mcp_tools_daily")
    return _frame(
        connection,
        f"""
        select mcp_server, mcp_tool, sum(calls) as calls, sum(failures) as failures,
               1 - sum(failures) / nullif(sum(calls_with_result), 0) as success_rate,
               sum(duration_ms_sum) / nullif(sum(calls_with_duration), 0) as mean_duration_ms,
               sum(attributed_tokens) as attributed_tokens,
               sum(attributed_tokens) / nullif(sum(sum(attributed_tokens)) over (), 0) as token_share
        from marts.agg_mcp_tools_daily {clause} group by all order by calls desc""",
        params,
    )


def latest_quality_checks(connection: Connection, scope: TenantScope) -> pd.DataFrame:
    """The latest run of the expectation suites, failures first. The suites check every org's data at once (their
    details can name other orgs' values): an operator view, so a tenant-scoped reader gets no rows."""
    if not table_exists(connection, "quality", "check_results"):
        return pd.DataFrame()
    return _frame(
        connection,
        """
        select checked_at, suite, asset, severity, expectation, column_name, success, observed, unexpected_count,
               details
        from quality.check_results
        where check_run_id = (select max(check_run_id) from quality.check_results) and $all_orgs
        order by success, severity, suite""",
        {"all_orgs": scope.org_ids is None},
    )


def quarantined_input(connection: Connection, scope: TenantScope, limit: int = 500) -> pd.DataFrame:
    """Rejected and flagged input with file, line and reason: a reader sees its orgs' lines; lines whose org is
    unknown (`org_id` NULL, e.g. a line that did not parse in a file that mixes orgs) only operators see."""
    tenant_sql, params = tenant_filter(scope, "raw.quarantine")
    return _frame(
        connection,
        f"""
        select org_id, severity, reason, source_system, source_file, source_line, raw_excerpt, detected_at
        from raw.quarantine where {tenant_sql}
        order by detected_at desc, source_file, source_line limit $row_limit""",
        params | {"row_limit": limit},
    )


def ml_table(connection: Connection, scope: TenantScope, table: str) -> pd.DataFrame | None:
    """An ML output table (`ml.forecasts`, `ml.anomalies`, …) scoped to the caller's orgs; None if not built.
    Global tables (the router's evaluation on every org's handoffs) are for operators: a scoped reader gets no rows."""
    return scoped_ml_table(connection, table, scope)


def recent_model_usage(connection: Connection, scope: TenantScope, days: int = 28) -> pd.DataFrame:
    """Tokens and cost per org and model over the caller's last `days` days of data (the mix a what-if changes)."""
    tenant_sql, params = tenant_filter(scope, USAGE)
    return _frame(
        connection,
        f"""
        with usage as (select * from marts.agg_usage_daily where {tenant_sql})
        select org_id, model, sum(total_tokens)::double as total_tokens, sum(cost_usd)::double as cost_usd
        from usage
        where day > (select max(day) from usage) - $days::integer
        group by all order by org_id, model""",
        params | {"days": days},
    )


def spend_vs_budget(connection: Connection, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    """Spend per calendar month and org beside the org's monthly budget (`budget_used` = spend ÷ budget)."""
    clause, params = where(filters, scope, relation=USAGE, prefix="u.")
    return _frame(
        connection,
        f"""
        select date_trunc('month', u.day)::date as month, u.org_id, max(o.org_name) as org_name,
               sum(u.cost_usd) as cost_usd, max(o.monthly_budget_usd) as monthly_budget_usd,
               sum(u.cost_usd) / nullif(max(o.monthly_budget_usd), 0) as budget_used
        from marts.agg_usage_daily u left join marts.dim_orgs o on o.org_id = u.org_id
        {clause} group by all order by month, u.org_id""",
        params,
    )


def token_mix(connection: Connection, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    """Per value of one dimension: tokens by kind (input, output, cache write, cache read), cache hit rate, spend."""
    column = DIMENSIONS[dimension]
    clause, params = where(filters, scope, relation=USAGE)
    return _frame(
        connection,
        f"""
        select {column} as {column.replace("_id", "")}, sum(input_tokens) as input_tokens,
               sum(output_tokens) as output_tokens, sum(cache_write_tokens) as cache_write_tokens,
               sum(cache_read_tokens) as cache_read_tokens,
               {METRICS["cache_hit_rate"].sql()} as cache_hit_rate,
               sum(cost_usd) as cost_usd, sum(calls) as calls
        from marts.agg_usage_daily {clause}
        group by 1 order by cost_usd desc nulls last, 1""",
        params,
    )


def quarantine_reasons(connection: Connection, scope: TenantScope) -> pd.DataFrame:
    """Quarantined input grouped by severity and reason (the same reason repeats on every bad line): lines, files,
    when it was first and last seen, and one example file and line."""
    tenant_sql, params = tenant_filter(scope, "raw.quarantine")
    return _frame(
        connection,
        f"""
        select severity, reason, count(*) as lines, count(distinct source_file) as files,
               min(detected_at) as first_seen, max(detected_at) as last_seen,
               arg_min(source_file || ':' || source_line, detected_at) as example
        from raw.quarantine where {tenant_sql}
        group by severity, reason order by lines desc, severity, reason""",
        params,
    )
