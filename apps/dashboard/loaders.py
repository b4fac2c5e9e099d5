"""The app's data access: one typed, cached loader per page query.

Each loader is keyed by the snapshot version (a new snapshot is a new key, so nothing stale is served), the filters
and the tenant scope, and calls its `aioa.analytics` query through the snapshot's locked-down reader connection with
the statement timeout (in server mode: the read-only PostgreSQL reader, keyed by the version published there).
Pages call these functions; they never open a connection, build SQL or filter tenants.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aioa.analytics import Filters, behaviour, kpi_formula, queries
from aioa.settings import get_settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.connection import TimedReader

CACHE = {"show_spinner": False, "max_entries": 256}


def _connection(version: str):
    """The read connection for `version`: the snapshot file's (DuckDB), or the server's (PostgreSQL mode)."""
    if get_settings().warehouse == "postgres":
        return _server_reader()
    return _snapshot_connection(version)


@st.cache_resource(show_spinner=False, max_entries=2)
def _snapshot_connection(version: str):
    """One locked-down read connection per snapshot version (queries use their own cursors)."""
    from aioa.warehouse.connection import connect_reader
    from aioa.warehouse.snapshots import snapshot_dir

    settings = get_settings()
    return connect_reader(snapshot_dir(settings) / f"warehouse-{version}.duckdb", settings)


@st.cache_resource(show_spinner=False)
def _server_reader():
    """Server mode: one read-only PostgreSQL connection for the app (every version reads the same server)."""
    from aioa.warehouse.pg_reader import connect_postgres_reader

    return connect_postgres_reader(get_settings())


def server_version() -> str | None:
    """Server mode's snapshot version: the last publication in PostgreSQL (None before the first)."""
    from aioa.warehouse.pg_reader import published_version

    reader = _server_reader()
    if reader.closed:  # the server dropped it: open a new one
        _server_reader.clear()
        reader = _server_reader()
    return published_version(reader)


def _reader(version: str) -> TimedReader:
    return TimedReader(_connection(version), get_settings().reader_statement_timeout_s)


@st.cache_data(**CACHE)
def marts_built(version: str) -> bool:
    return queries.table_exists(_connection(version), "marts", "agg_usage_daily")


@st.cache_data(**CACHE)
def archived_ranges(version: str, scope: TenantScope) -> list[tuple]:
    """(org, first day, last day, calls) served from the Parquet archive (none in server mode)."""
    if get_settings().warehouse == "postgres":
        return []
    from aioa.archive.snapshot import archived_ranges as ranges

    return ranges(_reader(version), scope)


@st.cache_data(**CACHE)
def filter_options(version: str, scope: TenantScope) -> dict:
    return queries.filter_options(_reader(version), scope)


@st.cache_data(**CACHE)
def kpis(version: str, filters: Filters, scope: TenantScope) -> dict[str, dict[str, float]]:
    return queries.kpis(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def spend_by(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return queries.spend_by(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def daily_usage(version: str, filters: Filters, scope: TenantScope, by: str | None = None) -> pd.DataFrame:
    return queries.daily_usage(_reader(version), filters, scope, by)


@st.cache_data(**CACHE)
def detail_calls(
    version: str, filters: Filters, scope: TenantScope, dimension: str | None = None, value: str | None = None
) -> pd.DataFrame:
    return queries.detail_calls(_reader(version), filters, scope, dimension=dimension, value=value)


@st.cache_data(**CACHE)
def calls_behind(
    version: str, filters: Filters, scope: TenantScope, drill: tuple[tuple[str, str], ...], page: int, page_size: int
) -> tuple[pd.DataFrame, int]:
    """One page of the calls behind a chart's point (drill-down) and how many there are."""
    from aioa.analytics.drilldown import calls_behind

    return calls_behind(_reader(version), filters, scope, drill, page=page, page_size=page_size)


@st.cache_data(**CACHE)
def projects_overview(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return queries.projects_overview(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def project_lifecycle(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return queries.project_lifecycle(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def sessions_timeline(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return queries.sessions_timeline(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def handoff_summary(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return queries.handoff_summary(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def handoff_task_types(version: str, scope: TenantScope) -> list[str]:
    return queries.handoff_task_types(_reader(version), scope)


@st.cache_data(**CACHE)
def mcp_tools(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return queries.mcp_tools(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def latest_quality_checks(version: str, scope: TenantScope) -> pd.DataFrame:
    return queries.latest_quality_checks(_reader(version), scope)


@st.cache_data(**CACHE)
def quarantined_input(version: str, scope: TenantScope) -> pd.DataFrame:
    return queries.quarantined_input(_reader(version), scope)


@st.cache_data(**CACHE)
def ml_table(version: str, scope: TenantScope, table: str) -> pd.DataFrame | None:
    return queries.ml_table(_reader(version), scope, table)


@st.cache_data(**CACHE)
def recommendations(version: str, scope: TenantScope) -> list:
    """What to change and its monthly saving (aioa.recommendations), largest first, summaries from templates."""
    from aioa.recommendations.engine import recommend

    return recommend(_reader(version), scope)


@st.cache_data(**CACHE)
def report(version: str, scope: TenantScope, filters: Filters, template_json: str):
    """A report template's numbers over the filters (aioa.reports.render), ready for any format."""
    from aioa.reports.render.build import build_report
    from aioa.reports.render.templates import ReportTemplate

    template = ReportTemplate.model_validate_json(template_json)
    return build_report(_reader(version), scope, template, filters=filters, snapshot=version)


@st.cache_data(**CACHE)
def report_html(version: str, scope: TenantScope, filters: Filters, template_json: str) -> str:
    """The report as HTML with its charts (the page's preview)."""
    from aioa.reports.render.formats import to_html

    return to_html(report(version, scope, filters, template_json))


@st.cache_data(**CACHE)
def recent_model_usage(version: str, scope: TenantScope) -> pd.DataFrame:
    return queries.recent_model_usage(_reader(version), scope)


@st.cache_data(**CACHE)
def spend_vs_budget(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return queries.spend_vs_budget(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def token_mix(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return queries.token_mix(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def mcp_tool_performance(version: str, filters: Filters, scope: TenantScope, by: tuple[str, ...] = ()) -> pd.DataFrame:
    from aioa.mcp.usage import tool_performance

    return tool_performance(_reader(version), filters, scope, by)


@st.cache_data(**CACHE)
def mcp_tool_recommendations(version: str, scope: TenantScope) -> pd.DataFrame:
    from aioa.mcp.usage import tool_recommendations

    return tool_recommendations(_reader(version), scope)


@st.cache_data(ttl=60, show_spinner=False)
def mcp_live_status(scope: TenantScope) -> pd.DataFrame:
    """The last probe, uptime and latency percentiles per MCP server (the status store), re-read each minute."""
    from aioa.mcp.store import live_status

    return pd.DataFrame(live_status(get_settings(), scope))


@st.cache_data(**CACHE)
def quarantine_reasons(version: str, scope: TenantScope) -> pd.DataFrame:
    return queries.quarantine_reasons(_reader(version), scope)


@st.cache_data(ttl=60, show_spinner=False)
def latest_pipeline_run(home: str):
    """The pipeline's latest run (aioa run's report or Dagster's run storage), re-read at most once a minute."""
    from aioa.pipeline_runs import latest_run

    return latest_run(get_settings())


# --- deep analytics: behaviour, lifecycles, workflow patterns, comparisons, KPIs


@st.cache_data(**CACHE)
def active_hours(
    version: str, filters: Filters, scope: TenantScope, member: tuple[str, str] | None = None
) -> pd.DataFrame:
    return behaviour.active_hours(_reader(version), filters, scope, member)


@st.cache_data(**CACHE)
def behaviour_by(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return behaviour.behaviour_by(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def models_used(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return behaviour.models_used(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def tools_used(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return behaviour.tools_used(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def project_phases(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return behaviour.project_phases(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def workflow_patterns(
    version: str, filters: Filters, scope: TenantScope, kind: str, lengths: tuple[int, int], min_sessions: int
) -> pd.DataFrame:
    return behaviour.workflow_patterns(
        _reader(version), filters, scope, kind=kind, lengths=lengths, min_sessions=min_sessions
    )


@st.cache_data(**CACHE)
def compare_periods(version: str, filters: Filters, scope: TenantScope):
    """This period against the one before on per-session cost (`aioa.analytics.compare.Compared`)."""
    from aioa.analytics import compare  # scipy loads only when a comparison is drawn

    return compare.compare_periods(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def compare_groups(version: str, filters: Filters, scope: TenantScope, group: str, first: str, second: str):
    """Two teams or projects on per-session cost (`aioa.analytics.compare.Compared`)."""
    from aioa.analytics import compare

    return compare.compare_groups(_reader(version), filters, scope, group, first, second)


@st.cache_data(**CACHE)
def kpi_values(version: str, formula: str, filters: Filters, scope: TenantScope, by: str | None) -> pd.DataFrame:
    return kpi_formula.kpi_values(_reader(version), kpi_formula.parse_formula(formula), filters, scope, by)
