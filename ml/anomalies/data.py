"""Read the detector's inputs from the read snapshot: usage per period and member, sessions, per-call latency."""

from __future__ import annotations

import duckdb
import pandas as pd

# period expression per grain; fct_llm_calls carries both `hour` and `day`
PERIOD = {"hour": "hour", "day": "cast(day as timestamp)"}


class AnomalyDataError(ValueError):
    """The warehouse holds too little (or too flat) data to detect anything; the message says what is missing."""


def usage(connection: duckdb.DuckDBPyConnection, grain: str) -> pd.DataFrame:
    """Calls, errors and cost per period, org, user, project and model (from agg_usage_hourly / agg_usage_daily)."""
    table = "marts.agg_usage_hourly" if grain == "hour" else "marts.agg_usage_daily"
    period = "hour" if grain == "hour" else "cast(day as timestamp)"
    return connection.execute(f"""
        select {period} as period, org_id, coalesce(user_id, '(unknown)') as user_id,
               coalesce(project_id, '(unassigned)') as project_id, model,
               sum(calls)::double as calls, sum(error_calls)::double as error_calls, sum(cost_usd) as cost_usd
        from {table}
        group by all
    """).df()


def sessions(connection: duckdb.DuckDBPyConnection, grain: str) -> pd.DataFrame:
    """Calls per session and period (sessions counted per period; a runaway agent is one long session)."""
    return connection.execute(f"""
        select {PERIOD[grain]} as period, org_id, coalesce(user_id, '(unknown)') as user_id, session_id,
               count(*)::double as calls
        from marts.fct_llm_calls
        where session_id is not null
        group by all
    """).df()
