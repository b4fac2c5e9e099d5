"""What needs action, for the top of the Overview: budgets at risk (chance and day of the overrun, from the stored
forecast tables), the latest anomalies with their drivers, the top recommendations (aioa.recommendations: what to
change and its monthly saving), data freshness and the pipeline's last run, quality problems. Each item links to the
page that explains it, with that page's filters in the URL."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from aioa import formatting

AT_RISK = 0.2  # a budget is "at risk" from this chance of overrun on
LATEST_ANOMALIES = 3
TOP_RECOMMENDATIONS = 3


@dataclass(frozen=True)
class Item:
    severity: str  # error, warning, info, ok
    title: str
    detail: str
    page: str  # app_pages/<file>.py
    link: str
    query: dict[str, str] = field(default_factory=dict)


def overrun_day(org_id: str, budget: float, projection: pd.Series, forecasts: pd.DataFrame | None):
    """The first day the org's month spend passes its budget: from the month's actual days, then the shipped
    forecast's days (point forecast); None when the month ends under it."""
    if forecasts is None or forecasts.empty:
        return None
    month = pd.Timestamp(projection["month"])
    series = forecasts[
        (forecasts["org_id"] == org_id) & forecasts["project_id"].isna() & (forecasts["metric"] == "cost_usd")
    ].copy()
    series["day"] = pd.to_datetime(series["day"])
    series = series[(series["day"] >= month) & (series["day"] <= month + pd.offsets.MonthEnd(0))].sort_values("day")
    if series.empty:
        return None
    daily = series["actual"].where(series["kind"] == "history", series["forecast"]).fillna(0)
    crossed = series.loc[daily.cumsum() > budget, "day"]
    return None if crossed.empty else crossed.iloc[0].date()


def budget_items(projections: pd.DataFrame | None, forecasts: pd.DataFrame | None, orgs=()) -> list[Item]:
    if projections is None or projections.empty:
        return []
    rows = projections[projections["budget_usd"].notna() & (projections["prob_exceed_budget"] >= AT_RISK)]
    if orgs:
        rows = rows[rows["org_id"].isin(orgs)]
    items = []
    for row in rows.sort_values("prob_exceed_budget", ascending=False).itertuples(index=False):
        series = pd.Series(row._asdict())
        day = overrun_day(row.org_id, row.budget_usd, series, forecasts)
        last_actual = getattr(row, "last_actual_day", None)
        if day is None:
            when = ""
        elif last_actual is not None and not pd.isna(last_actual) and pd.Timestamp(day) <= pd.Timestamp(last_actual):
            when = f"; already over it since {formatting.long_day(day)}"
        else:
            when = f"; the forecast passes it on {formatting.long_day(day)}"
        items.append(
            Item(
                "error" if row.prob_exceed_budget >= 0.5 else "warning",
                f"{row.org_id}: {formatting.percent(row.prob_exceed_budget, 0)} chance of overrunning its "
                f"{formatting.money(row.budget_usd, 0)} budget",
                f"Projected month end {formatting.money(row.projected_month_end_usd)} "
                f"(10–90%: {formatting.money(row.p10_usd)}–{formatting.money(row.p90_usd)}){when}.",
                "app_pages/forecasts.py",
                f"Forecast for {row.org_id}",
                {"org": row.org_id},
            )
        )
    return items


def anomaly_items(anomalies: pd.DataFrame | None, orgs=(), limit: int = LATEST_ANOMALIES) -> list[Item]:
    if anomalies is None or anomalies.empty:
        return []
    rows = anomalies[anomalies["org_id"].isin(orgs)] if orgs else anomalies
    # one item per org, kind and day: a daily anomaly and the hours inside it are the same event (the day first)
    rows = rows.assign(
        _day=pd.to_datetime(rows["start"]).dt.normalize(), _daily=(rows["grain"] == "day").astype(int)
    ).sort_values(["_day", "_daily", "score"], ascending=False)
    rows = rows.drop_duplicates(["org_id", "kind", "_day"])
    items = []
    for row in rows.head(limit).itertuples(index=False):
        kind = str(row.kind).replace("_", " ")
        drivers = row.drivers if isinstance(row.drivers, str) and row.drivers else "no single driver"
        items.append(
            Item(
                "warning",
                f"{row.org_id}: {kind} on {formatting.day(row.start)}",
                f"{formatting.label(row.metric)} {formatting.format_value(row.metric, row.observed)} against "
                f"{formatting.format_value(row.metric, row.expected)} usually; driven by {drivers}.",
                "app_pages/anomalies.py",
                f"Anomalies of {row.org_id}",
                {"org": row.org_id, "kind": row.kind},
            )
        )
    return items


def recommendation_items(recommendations, orgs=(), limit: int = TOP_RECOMMENDATIONS) -> list[Item]:
    """The largest savings first (`aioa.recommendations.model.Recommendation`s), each with its summary and the page
    that shows its evidence."""
    chosen = [item for item in recommendations if not orgs or item.org_id in orgs]
    chosen = sorted(chosen, key=lambda item: -item.monthly_saving_usd)[:limit]
    return [
        Item(
            "warning",
            f"{item.org_id}: {item.title.lower()} ({item.subject}), about "
            f"{formatting.money(item.monthly_saving_usd)} a month",
            f"{item.summary} {item.action}",
            item.page,
            "Evidence",
            dict(item.query),
        )
        for item in chosen
    ]


def freshness_item(last_day, run) -> Item:
    """ "Data through …" and the pipeline's last run (`aioa.pipeline_runs.PipelineRun` or None)."""
    through = f"Data through {formatting.long_day(last_day)}" if last_day is not None else "No usage data yet"
    if run is None:
        return Item("info", through, "No pipeline run recorded.", "app_pages/quality.py", "Data quality")
    severity = {"ok": "ok", "failed": "error", "running": "info", "queued": "info"}.get(run.status, "warning")
    detail = f"Last pipeline run: {run.describe()}."
    if run.status == "failed":
        where = f" at {run.failed_step}" if run.failed_step else ""
        detail += f" Failed{where}: {run.message or 'see the run in Dagster'}. Readers keep the previous data."
    return Item(severity, through, detail, "app_pages/quality.py", "Data quality")


def quality_items(checks: pd.DataFrame | None, quarantine: pd.DataFrame | None, unpriced_calls: float) -> list[Item]:
    items = []
    if checks is not None and not checks.empty:
        failed = checks[~checks["success"].astype(bool)]
        if not failed.empty:
            errors = int((failed["severity"] == "error").sum())
            items.append(
                Item(
                    "error" if errors else "warning",
                    f"{len(failed)} data-quality expectation(s) failed",
                    ", ".join(sorted(set(failed["suite"].astype(str))))[:200],
                    "app_pages/quality.py",
                    "Data quality",
                )
            )
    if quarantine is not None and not quarantine.empty:
        lines = int(quarantine["lines"].sum())
        top = quarantine.iloc[0]
        items.append(
            Item(
                "warning",
                f"{formatting.count(lines)} input line(s) quarantined",
                f"Most often: {top['reason']} ({formatting.count(top['lines'])}).",
                "app_pages/quality.py",
                "Quarantined input",
            )
        )
    if unpriced_calls:
        items.append(
            Item(
                "warning",
                f"{formatting.count(unpriced_calls)} calls have no price",
                "Their models are missing from the price library; they are not in the spend (see `aioa doctor`).",
                "app_pages/costs.py",
                "Costs by model",
                {"dimension": "model"},
            )
        )
    return items
