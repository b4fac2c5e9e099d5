"""A generated sample built once per test session, and helpers to read mart totals from a snapshot."""

from __future__ import annotations

import shutil
from pathlib import Path

from aioa.settings import Settings

# Every mart with the numeric columns whose totals must agree between runs and between backends.
MART_TOTALS = {
    "fct_llm_calls": ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "cost_usd"),
    "fct_tool_calls": ("duration_ms", "attributed_tokens"),
    "fct_handoffs": ("input_tokens", "output_tokens", "cost_usd", "savings_usd"),
    "fct_sessions": ("calls", "subagent_calls", "tool_calls", "total_tokens", "cost_usd", "errors"),
    "dim_orgs": ("monthly_budget_usd",),
    "dim_teams": (),
    "dim_users": (),
    "dim_projects": ("lifetime_cost_usd", "lifetime_tokens"),
    "dim_models": ("calls", "total_tokens", "cost_usd", "input_price_per_mtok"),
    "agg_usage_daily": ("calls", "error_calls", "total_tokens", "cost_usd", "sessions"),
    "agg_usage_hourly": ("calls", "error_calls", "total_tokens", "cost_usd", "latency_ms_sum"),
    "agg_mcp_tools_daily": ("calls", "failures", "duration_ms_sum", "attributed_tokens"),
    "agg_tool_usage_daily": ("tool_calls", "failures", "sessions"),
    "fct_session_sequences": ("pattern_length", "occurrences", "followed_by_failure", "session_cost_usd"),
    "agg_project_lifecycle_weekly": ("life_week", "days_covered", "calls", "total_tokens"),
}


def mart_totals(query) -> dict[str, tuple]:
    """Row count and rounded column sums of every mart; `query(sql)` returns the first row."""
    totals = {}
    for mart, columns in MART_TOTALS.items():
        sums = "".join(
            f", cast(round(cast(coalesce(sum({column}), 0) as decimal(38, 9)), 6) as decimal(38, 6))"
            for column in columns
        )
        row = query(f"select count(*){sums} from {{marts}}.{mart}")
        totals[mart] = tuple(float(value) for value in row)
    return totals


def copy_home(built_home: Path, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(built_home, home, ignore=shutil.ignore_patterns("snapshots"))
    (home / "snapshots").mkdir()
    return Settings(home=home)
