"""What each trigger finds: a list of matches (facts for the condition and the message, a fingerprint that names
the finding) per day judged. Live evaluation judges the data's last day; a backtest judges each of the last N days
with only the data up to that day. Reads go through the tenant-scoped layer for the rule's org only."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from aioa.rules import queries
from aioa.rules.cron import CronExpression
from aioa.rules.spec import USAGE_DIMENSIONS
from aioa.warehouse.access import TenantScope
from aioa.warehouse.ml_tables import scoped_ml_table

ANOMALY_FACTS = (
    "kind",
    "grain",
    "start",
    "end",
    "metric",
    "observed",
    "expected",
    "score",
    "driver_project",
    "driver_project_share",
    "driver_model",
    "driver_model_share",
    "driver_user",
    "driver_user_share",
    "drivers",
)  # never `label_kind`: a rule must not see the generator's answers


@dataclass
class Match:
    fingerprint: str
    facts: dict
    day: date | None = None


@dataclass
class Context:
    """What a trigger may read: one org's scope of the snapshot, the time, and the rule's saved state."""

    org_id: str
    connection: duckdb.DuckDBPyConnection | None
    snapshot: str | None
    now: datetime
    state: dict = field(default_factory=dict)

    @property
    def scope(self) -> TenantScope:
        return TenantScope.for_orgs(self.org_id)


def example_facts(trigger) -> dict:
    """The facts a trigger provides, with typical values (a condition is checked against them when saved)."""
    common = {"org_id": "acme", "day": "2026-11-20"}
    kind = trigger.kind
    if kind == "schedule":
        return common | {"tick": "2026-11-20T09:00:00+00:00", "month_end_usd": 1200.0, "budget_usd": 1000.0}
    if kind == "snapshot_published":
        return common | {"snapshot": "20261120T090000000000Z"}
    if kind == "anomaly_detected":
        return (
            common
            | {name: 1.0 for name in ANOMALY_FACTS}
            | {
                "kind": "cost_spike",
                "grain": "day",
                "start": "2026-11-20T00:00:00",
                "end": "2026-11-21T00:00:00",
                "metric": "cost_usd",
                "driver_project": "api",
                "driver_model": "claude-opus-4-6",
                "driver_user": "bob",
                "drivers": "project api 80%",
                "ratio": 4.0,
            }
        )
    if kind == "budget_forecast":
        return common | {
            "project_id": "(org)",
            "month": "2026-11-01",
            "projected_month_end_usd": 1200.0,
            "budget_usd": 1000.0,
            "share_of_budget": 1.2,
            "prob_exceed_budget": 0.9,
            "p10_usd": 1100.0,
            "p90_usd": 1300.0,
        }
    groups = {name: "x" for name in getattr(trigger, "group_by", [])}
    window = {"window_start": "2026-11-20", "window_end": "2026-11-20", "group": groups, **groups}
    if kind == "sla_breach":
        return common | window | {"metric": trigger.metric, "value": 1.0, "above": trigger.above, "calls": 100.0}
    if kind == "quarantine_rate":
        return common | window | {"rate": 0.1, "above": trigger.above, "quarantined": 10.0, "lines": 100.0}
    if kind == "metric_threshold":
        return (
            common | window | {"metric": trigger.metric, "value": 1.0, "baseline": 1.0, "ratio": 1.0, "previous": 1.0}
        )
    raise ValueError(f"unknown trigger kind {kind}")


def default_group(trigger) -> list[str]:
    return {
        "anomaly_detected": ["kind"],
        "budget_forecast": ["project_id"],
    }.get(trigger.kind, list(getattr(trigger, "group_by", [])))


def find(trigger, context: Context, days: list[date] | None = None) -> dict[date | None, list[Match]]:
    """Matches per judged day. `days=None`: live (the data's last day, events since the rule's last look)."""
    finder = _FINDERS[trigger.kind]
    return finder(trigger, context, days)


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:40]


def _live_days(context: Context, days: list[date] | None) -> list[date]:
    if days is not None:
        return days
    last = queries.last_day(context.connection, context.scope) if context.connection else None
    return [last] if last else []


# --- schedule and snapshot ------------------------------------------------------------------------------------------


def _schedule(trigger, context: Context, days):
    cron = CronExpression.parse(trigger.cron)
    month_end, budget = _month_end(context)
    base = {"org_id": context.org_id, "month_end_usd": month_end, "budget_usd": budget}
    if days is None:
        last = context.state.get("last_tick_check")
        after = datetime.fromisoformat(last) if last else context.now - timedelta(minutes=1)
        ticks = cron.ticks(after, context.now, trigger.timezone)
        context.state["last_tick_check"] = context.now.isoformat()
        return {None: [Match(f"tick:{tick.isoformat()}", base | {"tick": tick.isoformat()}) for tick in ticks]}
    found = {}
    for day in days:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        ticks = cron.ticks(start - timedelta(minutes=1), start + timedelta(days=1, minutes=-1), trigger.timezone)
        found[day] = [
            Match(f"tick:{tick.isoformat()}", base | {"tick": tick.isoformat(), "day": day}, day) for tick in ticks
        ]
    return found


def _snapshot(trigger, context: Context, days):
    if context.snapshot is None:
        return {}
    facts = {"org_id": context.org_id, "snapshot": context.snapshot}
    if days is None:
        if context.state.get("last_snapshot") == context.snapshot:
            return {None: []}
        context.state["last_snapshot"] = context.snapshot
        return {None: [Match(f"snapshot:{context.snapshot}", facts)]}
    return {day: [Match(f"snapshot:{context.snapshot}", facts, day)] if day == days[-1] else [] for day in days}


# --- stored ML results ----------------------------------------------------------------------------------------------


def _anomalies(trigger, context: Context, days):
    frame = scoped_ml_table(context.connection, "anomalies", context.scope) if context.connection else None
    if frame is None or frame.empty:
        return {day: [] for day in days or [None]}
    if trigger.anomaly_kinds:
        frame = frame[frame["kind"].isin(trigger.anomaly_kinds)]
    frame = frame.assign(day=pd.to_datetime(frame["start"]).dt.date)
    judged = _live_days(context, days)
    found = {}
    for day in judged:
        if days is None:
            window = frame[frame["day"] > day - timedelta(days=trigger.since_days)]
        else:
            window = frame[frame["day"] == day]
        found[None if days is None else day] = [_anomaly_match(row, context.org_id) for row in _records(window)]
    return found or {None: []}


def _anomaly_match(row: dict, org_id: str) -> Match:
    facts = {name: row.get(name) for name in ANOMALY_FACTS}
    observed, expected = facts.get("observed") or 0.0, facts.get("expected") or 0.0
    facts |= {
        "org_id": org_id,
        "day": row["day"],
        # times the expected level; against an expected 0 (errors on a day that has none) the observed count itself
        "ratio": observed / expected if expected > 0 else observed,
    }
    key = fingerprint("anomaly", org_id, row["kind"], row["grain"], row["start"], row["metric"], row.get("driver_user"))
    return Match(key, facts, row["day"])


def _budget(trigger, context: Context, days):
    frame = scoped_ml_table(context.connection, "budget_projections", context.scope) if context.connection else None
    judged = _live_days(context, days)
    if frame is None or frame.empty or not judged:
        return {day: [] for day in days or [None]}
    matches = []
    for row in _records(frame):
        probability = row.get("prob_exceed_budget")
        if probability is None or probability < trigger.min_probability:
            continue
        facts = {
            name: row.get(name)
            for name in (
                "month",
                "projected_month_end_usd",
                "budget_usd",
                "share_of_budget",
                "prob_exceed_budget",
                "p10_usd",
                "p90_usd",
            )
        }
        project = row.get("project_id") or "(org)"
        facts |= {"org_id": context.org_id, "project_id": project, "day": judged[-1]}
        matches.append(Match(fingerprint("budget", context.org_id, project, row.get("month")), facts, judged[-1]))
    if days is None:
        return {None: matches}
    return {day: matches if day == judged[-1] else [] for day in days}


def _month_end(context: Context) -> tuple[float | None, float | None]:
    """The org's projected month-end spend and budget (the org-level projection), if the forecast ran."""
    if context.connection is None:
        return None, None
    frame = scoped_ml_table(context.connection, "budget_projections", context.scope)
    if frame is None or frame.empty:
        return None, None
    org_rows = frame[frame["project_id"].isna()] if "project_id" in frame else frame
    if org_rows.empty:
        return None, None
    row = org_rows.iloc[0]
    return _number(row.get("projected_month_end_usd")), _number(row.get("budget_usd"))


# --- metrics over a window ------------------------------------------------------------------------------------------


def _metric(trigger, context: Context, days):
    judged = _live_days(context, days)
    if not judged:
        return {None: []}
    columns = [USAGE_DIMENSIONS[name] for name in trigger.group_by]
    history_days = trigger.baseline_days + 2 * trigger.window_days
    frame = queries.metric_by_day(
        context.connection,
        context.scope,
        trigger.metric,
        columns,
        min(judged) - timedelta(days=history_days),
        max(judged),
    )
    series = _daily_grid(frame, columns, min(judged) - timedelta(days=history_days), max(judged))
    found = {}
    for day in judged:
        matches = []
        for key, table in series.items():
            top, bottom = _window_sums(table, day, trigger.window_days)
            value = top / bottom if bottom else None
            if value is None:
                continue
            baseline = _baseline(table, day, trigger.window_days, trigger.baseline_days)
            previous = _ratio(*_window_sums(table, day - timedelta(days=trigger.window_days), trigger.window_days))
            if trigger.above is not None and not value > trigger.above:
                continue
            if trigger.below is not None and not value < trigger.below:
                continue
            group = dict(zip(trigger.group_by, key, strict=True))
            facts = {
                "org_id": context.org_id,
                "day": day,
                "metric": trigger.metric,
                "value": value,
                "baseline": baseline,
                "ratio": value / baseline if baseline else None,
                "previous": previous,
                "window_start": day - timedelta(days=trigger.window_days - 1),
                "window_end": day,
                "group": group,
                **group,
            }
            matches.append(Match(fingerprint("metric", trigger.metric, day, key), facts, day))
        found[None if days is None else day] = matches
    return found


def _daily_grid(frame: pd.DataFrame, columns: list[str], start: date, end: date) -> dict[tuple, pd.DataFrame]:
    """Per group: numerator and denominator on every day of [start, end] (a day without rows counts 0)."""
    calendar = pd.Index(pd.date_range(start, end).date, name="day")
    grouped = frame.groupby(columns, dropna=False) if columns else [((), frame)]
    series = {}
    for key, rows in grouped:
        key = key if isinstance(key, tuple) else (key,)
        daily = rows.groupby("day")[["numerator", "denominator"]].sum()
        daily.index = pd.Index([pd.Timestamp(day).date() for day in daily.index], name="day")
        series[tuple(None if pd.isna(part) else part for part in key)] = daily.reindex(calendar, fill_value=0.0)
    return series


def _window_sums(table: pd.DataFrame, end: date, length: int) -> tuple[float, float]:
    window = table.loc[end - timedelta(days=length - 1) : end]
    return float(window["numerator"].sum()), float(window["denominator"].sum())


def _baseline(table: pd.DataFrame, day: date, window: int, baseline_days: int) -> float | None:
    """Median of the window's value ending on each of the `baseline_days` days before the window."""
    ends = [day - timedelta(days=window + offset) for offset in range(baseline_days)]
    values = [_ratio(*_window_sums(table, end, window)) for end in ends if end >= table.index[0]]
    values = [value for value in values if value is not None]
    return float(np.median(values)) if values else None


def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def _sla(trigger, context: Context, days):
    judged = _live_days(context, days)
    found = {}
    for day in judged:
        start = day - timedelta(days=trigger.window_days - 1)
        columns = [USAGE_DIMENSIONS[name] for name in trigger.group_by]
        if trigger.metric == "latency_p95_ms":
            frame = queries.latency_p95(context.connection, context.scope, columns, start, day)
        else:
            frame = queries.metric_by_day(context.connection, context.scope, "error_rate", columns, start, day)
            sums = (
                frame.groupby(columns, dropna=False)[["numerator", "denominator"]].sum().reset_index()
                if columns
                else frame[["numerator", "denominator"]].sum().to_frame().T
            )
            errors, calls = sums["numerator"].astype(float), sums["denominator"].astype(float)
            frame = sums.assign(value=errors / calls.where(calls > 0), calls=calls)
        matches = []
        for row in _records(frame):
            value = row.get("value")
            if value is None or row["calls"] < trigger.min_calls or not value > trigger.above:
                continue
            group = {name: row.get(USAGE_DIMENSIONS[name]) for name in trigger.group_by}
            facts = {
                "org_id": context.org_id,
                "day": day,
                "metric": trigger.metric,
                "value": float(value),
                "above": trigger.above,
                "calls": float(row["calls"]),
                "window_start": start,
                "window_end": day,
                "group": group,
                **group,
            }
            matches.append(Match(fingerprint("sla", trigger.metric, day, sorted(group.items())), facts, day))
        found[None if days is None else day] = matches
    return found or {None: []}


def _quarantine(trigger, context: Context, days):
    judged = _live_days(context, days)
    if context.connection is None or not judged:
        return {None: []}
    since = (context.now - timedelta(days=trigger.window_days)).astimezone(UTC).replace(tzinfo=None)
    quarantined, loaded = queries.quarantine_counts(context.connection, context.scope, since)
    lines = quarantined + loaded
    rate = quarantined / lines if lines else 0.0
    matches = []
    if lines and rate > trigger.above:
        facts = {
            "org_id": context.org_id,
            "day": judged[-1],
            "rate": rate,
            "above": trigger.above,
            "quarantined": float(quarantined),
            "lines": float(lines),
            "window_start": since.date(),
            "window_end": judged[-1],
            "group": {},
        }
        matches.append(Match(fingerprint("quarantine", context.snapshot or judged[-1]), facts, judged[-1]))
    if days is None:
        return {None: matches}
    return {day: matches if day == judged[-1] else [] for day in days}


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


_FINDERS = {
    "schedule": _schedule,
    "snapshot_published": _snapshot,
    "anomaly_detected": _anomalies,
    "budget_forecast": _budget,
    "sla_breach": _sla,
    "quarantine_rate": _quarantine,
    "metric_threshold": _metric,
}
