"""The dashboard's data functions: every query the app runs, tenant-scoped, with bound parameters only."""

from aioa.analytics.filters import DIMENSIONS, Filters
from aioa.analytics.queries import (
    daily_usage,
    detail_calls,
    filter_options,
    handoff_summary,
    handoff_task_types,
    kpis,
    latest_quality_checks,
    mcp_tools,
    ml_table,
    project_lifecycle,
    projects_overview,
    quarantined_input,
    recent_model_usage,
    sessions_timeline,
    spend_by,
    spend_vs_budget,
    table_exists,
    token_mix,
)

__all__ = [
    "DIMENSIONS", "Filters", "daily_usage", "detail_calls", "filter_options", "handoff_summary", "handoff_task_types",
    "kpis", "latest_quality_checks", "mcp_tools", "ml_table", "project_lifecycle", "projects_overview",
    "quarantined_input", "recent_model_usage", "sessions_timeline", "spend_by", "spend_vs_budget", "table_exists", "token_mix",
]
