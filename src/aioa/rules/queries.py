"""The reads rules make, through the tenant-scoped data-access layer: metric series by day and group from the
metric registry, latency percentiles, quarantine counts. Columns come from the registries; every value is bound."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd

from aioa.analytics.filters import Filters, where
from aioa.metrics import METRICS
from aioa.warehouse.access import TenantScope
from aioa.warehouse.relations import tenant_filter

USAGE = "marts.agg_usage_daily"


def last_day(connection: duckdb.DuckDBPyConnection, scope: TenantScope) -> date | None:
    clause, params = where(Filters(), scope, relation=USAGE)
    return connection.cursor().execute(f"select max(day) from marts.agg_usage_daily {clause}", params).fetchone()[0]


def metric_by_day(
    connection: duckdb.DuckDBPyConnection,
    scope: TenantScope,
    metric_name: str,
    columns: list[str],
    start: date,
    end: date,
) -> pd.DataFrame:
    """day, the group columns, `numerator` and `denominator` (1 for a simple metric) of a registry metric."""
    metric = METRICS[metric_name]
    top = metric.measure or metric.numerator
    bottom = "1" if metric.measure else metric.denominator.sql()
    clause, params = where(Filters(start, end), scope, relation=USAGE)
    groups = "".join(f", {column}" for column in columns)
    return (
        connection.cursor()
        .execute(
            f"select day{groups}, {top.sql()} as numerator, {bottom} as denominator "
            f"from marts.agg_usage_daily {clause} group by all order by day",
            params,
        )
        .df()
    )


def latency_p95(
    connection: duckdb.DuckDBPyConnection, scope: TenantScope, columns: list[str], start: date, end: date
) -> pd.DataFrame:
    """The group columns, p95 latency (ms) and the calls it is measured on, over [start, end]."""
    clause, params = where(Filters(start, end), scope, relation="marts.fct_llm_calls")
    groups = "".join(f"{column}, " for column in columns)
    return (
        connection.cursor()
        .execute(
            f"select {groups}quantile_cont(latency_ms, 0.95) as value, count(*) as calls "
            f"from marts.fct_llm_calls {clause} and latency_ms is not null group by all",
            params,
        )
        .df()
    )


def quarantine_counts(connection: duckdb.DuckDBPyConnection, scope: TenantScope, since: datetime) -> tuple[int, int]:
    """(rejected lines, rows loaded) of the scope's orgs by ingest runs since `since`."""
    quarantine_sql, params = tenant_filter(scope, "raw.quarantine")
    calls_sql, call_params = tenant_filter(scope, "raw.llm_calls")
    row = (
        connection.cursor()
        .execute(
            f"""
            select
                (select count(*) from raw.quarantine
                 where {quarantine_sql} and severity = 'rejected' and detected_at >= $since),
                (select count(*) from raw.llm_calls
                 where {calls_sql} and ingest_run_id in
                     (select ingest_run_id from raw.ingest_runs where started_at >= $since))""",
            params | call_params | {"since": since},
        )
        .fetchone()
    )
    return int(row[0]), int(row[1])
