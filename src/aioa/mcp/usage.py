"""MCP use read from the warehouse through the tenant-scoped access layer: servers seen in transcripts, tool
performance (marts.agg_mcp_tool_usage_daily) and tool recommendations (marts.mcp_tool_recommendations)."""

from __future__ import annotations

import duckdb
import pandas as pd

from aioa.analytics.filters import Filters, where
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.relations import tenant_filter

USAGE = "marts.agg_mcp_tool_usage_daily"
RECOMMENDATIONS = "marts.mcp_tool_recommendations"


def servers_in_transcripts(settings: Settings, scope: TenantScope) -> list[dict]:
    """Each MCP server (plugin, server) seen in tool calls: first use and calls, within `scope`."""
    from aioa.warehouse.snapshots import open_snapshot

    connection, _ = open_snapshot(settings)
    try:
        clause, params = tenant_filter(scope, "marts.fct_tool_calls")
        rows = (
            connection.cursor()
            .execute(
                f"""
                select mcp_plugin, mcp_server, min(ts_utc) as first_seen, count(*) as calls
                from marts.fct_tool_calls
                where is_mcp and mcp_server is not null and {clause}
                group by mcp_plugin, mcp_server
                order by mcp_server, mcp_plugin""",
                params,
            )
            .fetchall()
        )
    finally:
        connection.close()
    return [{"mcp_plugin": row[0], "mcp_server": row[1], "first_seen": row[2], "calls": row[3]} for row in rows]


def tool_performance(
    connection: duckdb.DuckDBPyConnection, filters: Filters, scope: TenantScope, by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Per server and tool (and optionally project, model, user): calls, errors and error rate, mean latency,
    mean result tokens, cost of the turns that used it."""
    groups = [column for column in ("project_id", "model", "user_id", "team_id") if column in by]
    clause, params = where(filters, scope, relation=USAGE)
    group_sql = ", ".join(["mcp_server", "mcp_tool", *groups])
    return (
        connection.cursor()
        .execute(
            f"""
            select {group_sql},
                   sum(calls) as calls,
                   sum(errors) as errors,
                   sum(errors) / nullif(sum(calls_with_result), 0) as error_rate,
                   sum(duration_ms_sum) / nullif(sum(calls_with_duration), 0) as mean_latency_ms,
                   sum(result_tokens_sum) / nullif(sum(calls_with_result_tokens), 0) as mean_result_tokens,
                   sum(turn_cost_usd) as turn_cost_usd,
                   sum(attributed_cost_usd) as attributed_cost_usd
            from {USAGE} {clause}
            group by {group_sql}
            order by calls desc""",
            params,
        )
        .df()
    )


def tool_recommendations(connection: duckdb.DuckDBPyConnection, scope: TenantScope) -> pd.DataFrame:
    """Tools that go with successful, cheaper sessions of a task type, with the evidence; recommended first."""
    clause, params = tenant_filter(scope, RECOMMENDATIONS)
    return (
        connection.cursor()
        .execute(
            f"""
            select org_id, task_type, mcp_server, mcp_tool, recommended,
                   sessions_with_tool, sessions_without_tool,
                   success_rate_with_tool, success_rate_without_tool, success_rate_lift,
                   mean_cost_usd_with_tool, mean_cost_usd_without_tool, mean_cost_usd_difference
            from {RECOMMENDATIONS}
            where {clause}
            order by recommended desc, success_rate_lift desc nulls last, sessions_with_tool desc""",
            params,
        )
        .df()
    )
