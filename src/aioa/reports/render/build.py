"""A template's numbers: each section calls the tenant-scoped analytics queries (and the recommendations engine)
over the report's period and filters; the result is plain frames that every format renders the same way."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd

from aioa import analytics
from aioa.analytics import Filters
from aioa.metrics import METRICS
from aioa.reports.render.templates import ReportTemplate, Section
from aioa.warehouse.access import TenantScope

# registry metric -> the column the analytics queries name it by
KPI_COLUMNS = {"spend": "spend_usd", "savings": "savings_usd"}
USAGE_COLUMNS = {"spend": "cost_usd", "tokens": "total_tokens"}
MAX_SERIES = 8  # a trend chart shows this many series; the rest are summed as "other"


@dataclass
class Table:
    name: str  # sheet and file name
    frame: pd.DataFrame


@dataclass
class BuiltSection:
    kind: str
    heading: str
    section: Section
    kpis: list[dict] = field(default_factory=list)
    table: Table | None = None
    series_column: str | None = None  # trend: the column that splits the lines
    value_column: str | None = None  # the column a chart draws
    sentences: list[str] = field(default_factory=list)


@dataclass
class Report:
    template: ReportTemplate
    start: date
    end: date
    filters: Filters
    generated_at: datetime
    snapshot: str | None
    sections: list[BuiltSection]

    @property
    def tables(self) -> list[Table]:
        return [section.table for section in self.sections if section.table is not None]


def period(template: ReportTemplate, last_day: date, month: str | None = None) -> tuple[date, date]:
    """The report's days: a calendar month (`month` YYYY-MM, else the month of the data's last day, up to that
    day), the 7 days to the last day, or the template's number of days to it."""
    if month is not None:
        first = date.fromisoformat(month + "-01")
        return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if template.period == "month":
        return last_day.replace(day=1), last_day
    days = 7 if template.period == "week" else template.days
    return last_day - timedelta(days=days - 1), last_day


def build_report(
    connection: duckdb.DuckDBPyConnection,
    scope: TenantScope,
    template: ReportTemplate,
    *,
    filters: Filters = Filters(),  # noqa: B008 - frozen dataclass, never mutated
    month: str | None = None,
    snapshot: str | None = None,
) -> Report:
    last_day = analytics.filter_options(connection, scope)["last_day"] or datetime.now(UTC).date()
    start, end = (filters.start, filters.end) if filters.start and filters.end else period(template, last_day, month)
    window = Filters(start, end, filters.orgs, filters.teams, filters.projects, filters.models)
    built = [_section(connection, scope, window, section, index) for index, section in enumerate(template.sections)]
    return Report(template, start, end, window, datetime.now(UTC), snapshot, built)


def _section(connection, scope: TenantScope, filters: Filters, section: Section, index: int) -> BuiltSection:
    built = BuiltSection(section.kind, section.heading, section)
    name = f"{index + 1:02d}_{section.kind}" + (f"_{section.by.replace(' ', '_')}" if section.by else "")
    if section.kind == "kpis":
        numbers = analytics.kpis(connection, filters, scope)
        for metric in section.metrics:
            column = KPI_COLUMNS.get(metric, metric)
            built.kpis.append(
                {
                    "metric": metric,
                    "label": METRICS[metric].label,
                    "unit": METRICS[metric].unit,
                    "value": numbers["current"][column],
                    "previous": numbers["previous"][column],
                }
            )
        built.table = Table(name, pd.DataFrame(built.kpis)[["metric", "label", "unit", "value", "previous"]])
    elif section.kind == "trend":
        daily = analytics.daily_usage(connection, filters, scope, by=section.by)
        value = USAGE_COLUMNS.get(section.metrics[0], section.metrics[0])
        frame = daily[["day", "series", value]].rename(columns={"series": section.by or "series"})
        built.table, built.series_column, built.value_column = Table(name, frame), section.by or "series", value
    elif section.kind == "breakdown":
        frame = analytics.spend_by(connection, filters, scope, section.by)
        key = frame.columns[0]
        if "cache_hit_rate" in section.metrics:
            mix = analytics.token_mix(connection, filters, scope, section.by)[[key, "cache_hit_rate"]]
            frame = frame.merge(mix, on=key, how="left")
        columns = [USAGE_COLUMNS.get(metric, metric) for metric in section.metrics]
        built.table = Table(name, frame[[key, *columns]].head(section.top))
        built.series_column, built.value_column = key, columns[0]
    elif section.kind == "budget":
        frame = analytics.spend_vs_budget(connection, filters, scope)
        built.table, built.series_column, built.value_column = Table(name, frame), "org_id", "cost_usd"
    elif section.kind == "projects":
        frame = analytics.projects_overview(connection, filters, scope).head(section.top)
        built.table, built.series_column, built.value_column = Table(name, frame), "project_id", "cost_usd"
    elif section.kind == "routing":
        frame = analytics.handoff_summary(connection, filters, scope)
        built.table, built.series_column, built.value_column = Table(name, frame), "task_type", "savings_usd"
    elif section.kind == "recommendations":
        from aioa.recommendations.engine import recommend

        items = recommend(connection, scope)
        rows = [
            {
                "org_id": item.org_id,
                "recommendation": item.title,
                "subject": item.subject,
                "monthly_saving_usd": item.monthly_saving_usd,
                "action": item.action,
            }
            for item in items[: section.top]
        ]
        columns = ["org_id", "recommendation", "subject", "monthly_saving_usd", "action"]
        built.table = Table(name, pd.DataFrame(rows, columns=columns))
        built.sentences = [item.summary for item in items[: section.top]]
        built.value_column = None
    if not section.chart:
        built.value_column = None
    return built


def chart_frame(built: BuiltSection) -> pd.DataFrame | None:
    """What a section's chart draws: a trend's top series by total (the rest summed as "other"), or the table."""
    if built.table is None or built.value_column is None or built.table.frame.empty:
        return None
    frame = built.table.frame
    if built.kind != "trend":
        return frame
    series, value = built.series_column, built.value_column
    top = frame.groupby(series)[value].sum().nlargest(MAX_SERIES).index
    shown = frame.assign(**{series: frame[series].where(frame[series].isin(top), "other")})
    return shown.groupby(["day", series], as_index=False)[value].sum()
