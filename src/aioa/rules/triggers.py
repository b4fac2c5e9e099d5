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

from aioa.metrics import METRICS
from aioa.rules import queries
from aioa.rules.cron import CronExpression
from aioa.rules.spec import USAGE_DIMENSIONS
from aioa.settings import Settings
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
    cache: dict = field(default_factory=dict)  # reads shared by the rules of one evaluation (same snapshot)
    settings: Settings | None = None  # stores outside the snapshot (the MCP status store)

    def cached(self, key: tuple, read):
        """`read()` once per key and org for every rule of this evaluation."""
        key = (self.org_id, *key)
        if key not in self.cache:
            self.cache[key] = read()
        return self.cache[key]

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
    if kind == "router_drift":
        return common | {
            "metric": "success_rate",
            "drift_kind": "outcome",
            "value": -0.08,
            "threshold": 0.05,
            "severity": "warn",
            "as_of": "2026-11-20",
            "message": "success rate of routed tasks 81.0% → 73.0%",
        }
    if kind == "mcp_server_down":
        return common | {
            "server": "github",
            "server_key": "user:github",
            "scope": "user",
            "reason": "connection refused",
            "down_probes": 2.0,
            "down_since": "2026-11-20T08:55:00",
            "last_probed_at": "2026-11-20T09:00:00",
        }
    if kind == "pipeline_step_failing":
        return common | {
            "job": "usage_pipeline",
            "step": "dbt build",
            "failures": 3.0,
            "last_error": "Runtime Error",
            "first_failed_at": "2026-11-20T02:00:00+00:00",
            "last_failed_at": "2026-11-20T04:00:00+00:00",
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
        "router_drift": ["metric"],
        "mcp_server_down": ["server"],
        "pipeline_step_failing": ["job", "step"],
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
    if context.connection is None:
        return []
    last = context.cached(("last_day",), lambda: queries.last_day(context.connection, context.scope))
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
    first = min(judged) - timedelta(days=trigger.baseline_days + 2 * trigger.window_days)
    keys, sums = context.cached(
        ("metric", trigger.metric, tuple(columns), first, max(judged)),
        lambda: _cumulative_grid(
            queries.metric_by_day(context.connection, context.scope, trigger.metric, columns, first, max(judged)),
            columns,
            first,
            max(judged),
            simple=not METRICS[trigger.metric].is_ratio,
        ),
    )
    window = trigger.window_days
    found = {}
    for day in judged:
        end = (day - first).days
        value = _window_values(sums, end, window)
        previous = _window_values(sums, end - window, window)
        ends = [end - window - offset for offset in range(trigger.baseline_days) if end - window - offset >= 0]
        history = np.stack([_window_values(sums, past, window) for past in ends], axis=1) if ends else None
        matches = []
        for index, key in enumerate(keys):
            current = value[index]
            if np.isnan(current):
                continue
            if trigger.above is not None and not current > trigger.above:
                continue
            if trigger.below is not None and not current < trigger.below:
                continue
            past = history[index][~np.isnan(history[index])] if history is not None else np.array([])
            baseline = float(np.median(past)) if past.size else None
            group = dict(zip(trigger.group_by, key, strict=True))
            facts = {
                "org_id": context.org_id,
                "day": day,
                "metric": trigger.metric,
                "value": float(current),
                "baseline": baseline,
                "ratio": float(current) / baseline if baseline else None,
                "previous": None if np.isnan(previous[index]) else float(previous[index]),
                "window_start": day - timedelta(days=window - 1),
                "window_end": day,
                "group": group,
                **group,
            }
            matches.append(Match(fingerprint("metric", trigger.metric, day, key), facts, day))
        found[None if days is None else day] = matches
    return found


def _cumulative_grid(frame: pd.DataFrame, columns: list[str], start: date, end: date, *, simple: bool = False):
    """The groups (tuples of their column values) and the running sums of numerator and denominator per group over
    every day of [start, end] (a day without rows adds 0): arrays of shape (2, groups, days + 1). A simple metric
    (a sum or count, no ratio) has the denominator 1 on every day: a day without usage is 0, not unknown."""
    length = (end - start).days + 1
    if frame.empty:
        return [], np.zeros((2, 0, length + 1))
    if columns:
        # sort=False numbers the groups in order of first appearance, the order drop_duplicates keeps
        codes = frame.groupby(columns, dropna=False, sort=False).ngroup().to_numpy()
        firsts = frame[columns].drop_duplicates().astype(object)
        keys = [tuple(None if pd.isna(part) else part for part in row) for row in firsts.itertuples(index=False)]
    else:
        codes, keys = np.zeros(len(frame), dtype=int), [()]
    offsets = (pd.to_datetime(frame["day"]) - pd.Timestamp(start)).dt.days.to_numpy()
    daily = np.zeros((2, len(keys), length))
    np.add.at(daily[0], (codes, offsets), frame["numerator"].astype(float).to_numpy())
    if simple:
        daily[1] = 1.0
    else:
        np.add.at(daily[1], (codes, offsets), frame["denominator"].astype(float).to_numpy())
    sums = np.concatenate([np.zeros((2, len(keys), 1)), np.cumsum(daily, axis=2)], axis=2)
    return keys, sums


def _window_values(sums: np.ndarray, end: int, length: int) -> np.ndarray:
    """Per group: the metric over the `length` days ending on day index `end` (NaN where its denominator is 0)."""
    if end < 0:
        return np.full(sums.shape[1], np.nan)
    low = max(0, end - length + 1)
    top = sums[0, :, end + 1] - sums[0, :, low]
    bottom = sums[1, :, end + 1] - sums[1, :, low]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom != 0, top / np.where(bottom != 0, bottom, 1), np.nan)


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


# --- router drift and MCP servers ------------------------------------------------------------------------------------


def _router_drift(trigger, context: Context, days):
    """The latest drift run's flagged metrics (`ml.routing.drift.events_from_frame`); a backtest sees each on the
    day its window ends."""
    from ml.routing.drift import events_from_frame

    frame = scoped_ml_table(context.connection, "routing_drift", context.scope) if context.connection else None
    events = [event for event in events_from_frame(frame, trigger.min_severity) if event.org_id == context.org_id]
    if trigger.metrics:
        events = [event for event in events if event.metric in trigger.metrics]
    matches = []
    for event in events:
        day = date.fromisoformat(event.as_of)
        facts = event.to_dict() | {"drift_kind": event.kind, "day": day}
        del facts["kind"]  # `kind` names the trigger in messages; the drift's own kind is `drift_kind`
        matches.append(Match(fingerprint("drift", context.org_id, event.metric, event.as_of), facts, day))
    if days is None:
        return {None: matches}
    return {day: [match for match in matches if match.day == day] for day in days}


def _mcp_down(trigger, context: Context, days):
    """Servers whose last `consecutive_probes` probes failed (live), or whose run of failures reached that length
    on a judged day (backtest). One outage, one finding: the fingerprint is the outage's first failed probe."""
    from aioa.mcp.store import McpStore

    settings = context.settings
    if settings is None or (settings.mcp_status_url is None and not (settings.home / "mcp.db").exists()):
        return {day: [] for day in days or [None]}
    since = context.now - timedelta(days=(len(days) + 1) if days else 7)
    store = McpStore(settings)
    try:
        history = store.history(context.org_id, since)
    finally:
        store.close()
    outages = _outages(history, trigger)
    if days is None:
        current = [outage for outage in outages if outage["ongoing"]]
        return {None: [_outage_match(outage, context.org_id) for outage in current]}
    found = {day: [] for day in days}
    for outage in outages:
        day = outage["reached_at"].date()
        if day in found:
            found[day].append(_outage_match(outage, context.org_id))
    return found


def _outages(history: list[dict], trigger) -> list[dict]:
    """Runs of at least `consecutive_probes` failed probes per server (probes that were skipped do not count)."""
    runs: dict[str, list[dict]] = {}
    outages = []
    for row in history:  # ordered by time
        if trigger.servers and row["name"] not in trigger.servers or row["status"] not in ("up", "down"):
            continue
        if row["status"] == "up":
            runs[row["server_key"]] = []  # a new list: an outage that keeps its rows is over
            continue
        run = runs.setdefault(row["server_key"], [])
        run.append(row)
        if len(run) == trigger.consecutive_probes:
            outages.append({"rows": run, "reached_at": row["probed_at"], "ongoing": False})
    for outage in outages:
        outage["ongoing"] = runs[outage["rows"][0]["server_key"]] is outage["rows"]
    return outages


def _outage_match(outage: dict, org_id: str) -> Match:
    first, last = outage["rows"][0], outage["rows"][-1]
    facts = {
        "org_id": org_id,
        "day": last["probed_at"].date(),
        "server": last["name"],
        "server_key": last["server_key"],
        "scope": last["scope"],
        "reason": last["reason"],
        "down_probes": float(len(outage["rows"])),
        "down_since": first["probed_at"].isoformat(),
        "last_probed_at": last["probed_at"].isoformat(),
    }
    key = fingerprint("mcp_down", org_id, first["server_key"], first["probed_at"])
    return Match(key, facts, facts["day"])


def _step_failing(trigger, context: Context, days):
    """Pipeline steps that keep failing (`aioa.ops.step_failures`): the shared pipeline, not one org's rows. One
    failure streak is one finding; a backtest sees it on the day of its latest failure."""
    from aioa.ops.step_failures import failing_steps

    if context.settings is None:
        return {day: [] for day in days or [None]}
    matches = []
    for streak in failing_steps(context.settings, trigger.jobs, trigger.consecutive_runs):
        facts = {name: value for name, value in streak.items() if name != "first_run_id"}
        day = streak["last_failed_at"].date()
        facts |= {
            "org_id": context.org_id,
            "day": day,
            "first_failed_at": streak["first_failed_at"].isoformat(),
            "last_failed_at": streak["last_failed_at"].isoformat(),
        }
        matches.append(
            Match(fingerprint("step_failing", streak["job"], streak["step"], streak["first_run_id"]), facts, day)
        )
    if days is None:
        return {None: matches}
    return {day: [match for match in matches if match.day == day] for day in days}


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
    "router_drift": _router_drift,
    "mcp_server_down": _mcp_down,
    "pipeline_step_failing": _step_failing,
}
