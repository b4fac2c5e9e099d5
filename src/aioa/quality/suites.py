"""The expectation suites: which frame each suite reads (set-based SQL, small results) and what it expects.

Row-level rules on the big fact tables are checked on per-group minima and maxima (one scan in the warehouse),
so the suites cost the same on ten thousand or ten million calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "total_tokens")
USAGE_DAILY_COLUMNS = {
    "usage_key", "day", "org_id", "team_id", "user_id", "project_id", "project_group", "provider", "model", "calls",
    "error_calls", "unpriced_calls", "input_tokens", "output_tokens", "cache_write_5m_tokens",
    "cache_write_1h_tokens", "cache_write_tokens", "cache_read_tokens", "total_tokens", "cost_usd",
    "latency_ms_sum", "latency_calls", "last_loaded_at", "sessions",
}


@dataclass(frozen=True)
class Suite:
    name: str
    asset: str  # the mart the suite guards (Dagster shows the check on it)
    description: str
    sql: str
    expectations: Callable  # (gx.expectations module, stale_before) -> list of expectations; GE imports lazily
    severity: str = "error"  # error: blocks publishing; warn: shown, does not block


def stale_before(freshness_hours: int) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=freshness_hours)).replace(tzinfo=None)


SUITES: list[Suite] = [
    Suite(
        "usage_daily_schema_and_ranges", "agg_usage_daily",
        "Schema is as documented; no negative tokens, calls or cost; errors never exceed calls; keys unique.",
        "select * from {marts}.agg_usage_daily",
        lambda e, stale_before: [e.ExpectTableColumnsToMatchSet(column_set=sorted(USAGE_DAILY_COLUMNS), exact_match=True),
         e.ExpectColumnValuesToNotBeNull(column="org_id"), e.ExpectColumnValuesToNotBeNull(column="day"),
         e.ExpectColumnValuesToBeUnique(column="usage_key"),
         *[e.ExpectColumnValuesToBeBetween(column=name, min_value=0) for name in (*TOKEN_COLUMNS, "calls")],
         e.ExpectColumnValuesToBeBetween(column="cost_usd", min_value=0),
         e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="calls", column_B="error_calls", or_equal=True)],
    ),
    Suite(
        "llm_calls_row_rules", "fct_llm_calls",
        "Every call has an org, a known status and price status, and no negative tokens (checked on per-group "
        "minima over all rows).",
        """
        select org_id, model, status, price_status, count(*) as calls,
               min(input_tokens) as min_input_tokens, min(output_tokens) as min_output_tokens,
               min(cache_write_tokens) as min_cache_write_tokens, min(cache_read_tokens) as min_cache_read_tokens,
               min(cost_usd) as min_cost_usd, count(*) - count(ts_utc) as calls_without_time
        from {marts}.fct_llm_calls group by org_id, model, status, price_status
        """,
        lambda e, stale_before: [e.ExpectColumnValuesToNotBeNull(column="org_id"),
         e.ExpectColumnValuesToBeInSet(column="status", value_set=["ok", "error"]),
         e.ExpectColumnValuesToBeInSet(column="price_status",
                                       value_set=["priced", "override", "unpriced", "not_billed"]),
         *[e.ExpectColumnValuesToBeBetween(column=f"min_{name}", min_value=0)
           for name in ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "cost_usd")],
         e.ExpectColumnValuesToBeBetween(column="calls_without_time", min_value=0, max_value=0)],
    ),
    Suite(
        "usage_reconciles_with_raw", "agg_usage_daily",
        "Per day, calls, tokens and cost in the daily mart equal the raw table's (nothing lost or double-counted).",
        """
        with raw_days as (
            select cast(ts_utc as date) as day, count(*) as calls,
                   sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens
                       + cache_read_tokens) as tokens,
                   coalesce(sum(cast(cost_usd as double precision)), 0) as cost_usd
            from {raw}.llm_calls group by 1
        ),
        mart_days as (
            select day, sum(calls) as calls, sum(total_tokens) as tokens, coalesce(sum(cost_usd), 0) as cost_usd
            from {marts}.agg_usage_daily group by 1
        )
        select coalesce(r.day, m.day) as day,
               coalesce(r.calls, 0) as raw_calls, coalesce(m.calls, 0) as mart_calls,
               coalesce(r.tokens, 0) as raw_tokens, coalesce(m.tokens, 0) as mart_tokens,
               abs(coalesce(r.cost_usd, 0) - coalesce(m.cost_usd, 0)) as cost_difference_usd
        from raw_days r full outer join mart_days m on m.day = r.day
        """,
        lambda e, stale_before: [e.ExpectColumnPairValuesToBeEqual(column_A="raw_calls", column_B="mart_calls"),
         e.ExpectColumnPairValuesToBeEqual(column_A="raw_tokens", column_B="mart_tokens"),
         e.ExpectColumnValuesToBeBetween(column="cost_difference_usd", min_value=0, max_value=1e-6)],
    ),
    Suite(
        "handoffs_ranges", "fct_handoffs",
        "Handoff ids are unique; quality scores, propensities and router confidences lie in [0, 1].",
        "select handoff_id, quality_score, propensity, router_confidence, cost_usd from {marts}.fct_handoffs",
        lambda e, stale_before: [e.ExpectColumnValuesToBeUnique(column="handoff_id"),
         *[e.ExpectColumnValuesToBeBetween(column=name, min_value=0, max_value=1)
           for name in ("quality_score", "propensity", "router_confidence")],
         e.ExpectColumnValuesToBeBetween(column="cost_usd", min_value=0)],
    ),
    Suite(
        "sessions_consistent", "fct_sessions",
        "Sessions end after they start and have at least one call.",
        "select session_id, started_at, ended_at, calls from {marts}.fct_sessions",
        lambda e, stale_before: [e.ExpectColumnValuesToBeUnique(column="session_id"),
         e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ended_at", column_B="started_at", or_equal=True),
         e.ExpectColumnValuesToBeBetween(column="calls", min_value=1)],
    ),
    Suite(
        "ingest_freshness", "fct_llm_calls",
        "The last successful ingest finished within `freshness_hours` (setting AIOA_FRESHNESS_HOURS).",
        "select max(finished_at) as last_ingest_finished_at from {raw}.ingest_runs where status = 'ok'",
        lambda e, stale_before: [e.ExpectColumnValuesToBeBetween(column="last_ingest_finished_at", min_value=stale_before)],
        severity="warn",
    ),
    Suite(
        "models_have_prices", "dim_models",
        "Every billed model has a known price (unpriced calls show cost NULL until an override is added).",
        "select org_id, model, calls from {marts}.dim_models where not priced and model <> '<synthetic>' and calls > 0",
        lambda e, stale_before: [e.ExpectTableRowCountToEqual(value=0)],
        severity="warn",
    ),
]
