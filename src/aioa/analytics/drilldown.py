"""The calls behind a chart's point: the page's filters narrowed by the point's values (day, org, team, user,
project, model, session), a page of rows newest first and how many there are in all."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb
import pandas as pd

from aioa.analytics.filters import Filters, where
from aioa.warehouse.access import TenantScope

FACTS = "marts.fct_llm_calls"
# What a point may narrow by -> the fact column it compares (the only names that reach SQL text).
DRILL_COLUMNS = {
    "day": "day",
    "org": "org_id",
    "team": "team_id",
    "user": "user_id",
    "project": "project_id",
    "model": "model",
    "session": "session_id",
}
CALL_COLUMNS = (
    "ts_utc, org_id, team_id, user_id, project_id, session_id, agent_id, model, input_tokens, output_tokens, "
    "cache_write_tokens, cache_read_tokens, cost_usd, price_status, status, source_file, source_line"
)

Drill = tuple[tuple[str, str], ...]  # ((dimension, value), ...) in DRILL_COLUMNS' names; '' for a missing value


def drill_filters(filters: Filters, drill: Drill) -> Filters:
    """The filters narrowed to a point's day: the window becomes that day (no day at all if it lies outside)."""
    days = [date.fromisoformat(value[:10]) for name, value in drill if name == "day"]
    if not days:
        return filters
    start = days[0] if filters.start is None else max(filters.start, days[0])
    end = days[0] if filters.end is None else min(filters.end, days[0])
    return replace(filters, start=start, end=end)


def calls_behind(
    connection: duckdb.DuckDBPyConnection,
    filters: Filters,
    scope: TenantScope,
    drill: Drill,
    *,
    page: int = 0,
    page_size: int = 50,
) -> tuple[pd.DataFrame, int]:
    """One page (0-based) of the calls a point stands for, newest first, and the number of such calls."""
    clause, params = where(drill_filters(filters, drill), scope, relation=FACTS)
    for index, (name, value) in enumerate(pair for pair in drill if pair[0] != "day"):
        # '' stands for a missing value (a call without a team, say), as a chart draws it
        clause += f" and coalesce(cast({DRILL_COLUMNS[name]} as varchar), '') = $drill_{index}"
        params[f"drill_{index}"] = str(value)
    total = connection.cursor().execute(f"select count(*) from {FACTS} {clause}", params).fetchone()[0]
    rows = (
        connection.cursor()
        .execute(
            f"select {CALL_COLUMNS} from {FACTS} {clause} order by ts_utc desc, call_key "
            "limit $page_size offset $page_offset",
            params | {"page_size": page_size, "page_offset": page * page_size},
        )
        .df()
    )
    return rows, int(total)
