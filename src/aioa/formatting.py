"""How numbers, dates and column names read, in the app and the CLI alike: currency, percentages, thousands, dates
without a midnight time, durations, and a human label with help text for every column a page or report shows."""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pandas loads only where a frame is formatted: `aioa --help` and reports stay light
    import pandas as pd

from aioa.metrics import METRICS

Kind = Literal["usd", "count", "tokens", "ratio", "number", "score", "date", "datetime", "duration_ms", "text"]
MISSING = "—"


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    pandas = sys.modules.get("pandas")  # pd.NA / pd.NaT exist only if pandas made the value
    if pandas is not None and (value is pandas.NA or value is pandas.NaT):
        return True
    return isinstance(value, float) and math.isnan(value)


def money(value: Any, digits: int = 2) -> str:
    """`$1,234.56`; a minus before the dollar sign (`-$1.18`), never `$-1.18`."""
    if is_missing(value):
        return MISSING
    number = float(value)
    return f"{'-' if number < 0 else ''}${abs(number):,.{digits}f}"


def signed_money(value: Any, digits: int = 2) -> str:
    """A change: `+$3.20` or `-$1.18` (Streamlit reads the leading sign for the arrow)."""
    if is_missing(value):
        return MISSING
    return ("+" if float(value) > 0 else "") + money(value, digits)


def percent(value: Any, digits: int = 1) -> str:
    """A share (0.125) as `12.5%`."""
    return MISSING if is_missing(value) else f"{float(value):.{digits}%}"


def signed_percent(value: Any, digits: int = 1) -> str:
    if is_missing(value):
        return MISSING
    return ("+" if float(value) > 0 else "") + percent(value, digits)


def count(value: Any) -> str:
    """Whole things (calls, tokens) with thousands separators: `5,097,970` (never `5097969.5`)."""
    return MISSING if is_missing(value) else f"{round(float(value)):,}"


def signed_count(value: Any) -> str:
    if is_missing(value):
        return MISSING
    return ("+" if float(value) > 0 else "") + count(value)


def compact(value: Any) -> str:
    """Large counts short: `5.1M`, `12.3k`, `950`."""
    if is_missing(value):
        return MISSING
    number = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= size:
            return f"{number / size:,.1f}{suffix}"
    return f"{number:,.0f}"


def signed_compact(value: Any) -> str:
    if is_missing(value):
        return MISSING
    return ("+" if float(value) > 0 else "") + compact(value)


def number(value: Any, digits: int = 2) -> str:
    return MISSING if is_missing(value) else f"{float(value):,.{digits}f}"


def day(value: Any) -> str:
    """A date as `2026-11-24`; a timestamp keeps its time only when it has one (`2026-11-24 13:05`)."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):  # pandas' Timestamp is a datetime
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def long_day(value: Any) -> str:
    """`Tue 24 Nov 2026`, for sentences."""
    if is_missing(value):
        return MISSING
    value = value if isinstance(value, date) else datetime.fromisoformat(str(value))
    return value.strftime("%a %d %b %Y").replace(" 0", " ")


def duration(seconds: Any) -> str:
    """`850 ms`, `42 s`, `3 min 20 s`, `2 h 05 min`, `3 d 4 h`."""
    if is_missing(seconds):
        return MISSING
    total = float(seconds)
    if total < 1:
        return f"{total * 1000:,.0f} ms"
    if total < 60:
        return f"{total:,.0f} s" if total >= 10 else f"{total:.1f} s"
    minutes, secs = divmod(round(total), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def duration_ms(milliseconds: Any) -> str:
    return MISSING if is_missing(milliseconds) else duration(float(milliseconds) / 1000)


FORMATTERS = {
    "usd": money,
    "count": count,
    "tokens": count,
    "ratio": percent,
    "number": number,
    "score": lambda value: number(value, 3),
    "date": day,
    "datetime": day,
    "duration_ms": duration_ms,
    "text": lambda value: MISSING if is_missing(value) else str(value),
}


@dataclass(frozen=True)
class Column:
    """How a column reads: its label, what it means in words, and the kind of value (which picks its format)."""

    label: str
    help: str
    kind: Kind = "number"

    def format(self, value: Any) -> str:
        return FORMATTERS[self.kind](value)


def _metric(name: str, kind: Kind) -> Column:
    """A column that is a registered metric reads with the metric's label and description (one text for both)."""
    metric = METRICS.get(name)
    if metric is None:
        return Column(name.replace("_", " ").capitalize(), "", kind)
    return Column(re.sub(r" \(USD\)$", "", metric.label), metric.description, kind)


# One entry per column name the pages, reports and the API's tables use; a name missing here reads as its words
# ("mean_quality" -> "Mean quality") with no help text.
COLUMNS: dict[str, Column] = {
    # who and what
    "org_id": Column("Org", "The organisation the usage is billed to.", "text"),
    "org": Column("Org", "The organisation the usage is billed to.", "text"),
    "org_name": Column("Org name", "The organisation's display name.", "text"),
    "team_id": Column("Team", "The team of the user who made the call.", "text"),
    "team": Column("Team", "The team of the user who made the call.", "text"),
    "user_id": Column("User", "The person (or service account) the calls are attributed to.", "text"),
    "user": Column("User", "The person (or service account) the calls are attributed to.", "text"),
    "project_id": Column("Project", "The project (repository or product) the calls worked on.", "text"),
    "project": Column("Project", "The project (repository or product) the calls worked on.", "text"),
    "project_group": Column("Project group", "Several repositories that make one product.", "text"),
    "model": Column("Model", "The model that answered the call.", "text"),
    "session_id": Column("Session", "One agent session (a conversation and its subagents).", "text"),
    "item": Column("Session", "One agent session (a conversation and its subagents).", "text"),
    "kind": Column("Kind", "What sort of row or event this is.", "text"),
    "task_type": Column("Task type", "The kind of task that was delegated.", "text"),
    "target_model": Column("Target model", "The model a task was handed to.", "text"),
    "mcp_server": Column("MCP server", "The Model Context Protocol server that serves the tool.", "text"),
    "mcp_tool": Column("Tool", "The tool's name on its MCP server.", "text"),
    # time
    "day": Column("Day", "Calendar day (UTC).", "date"),
    "date": Column("Day", "Calendar day.", "date"),
    "month": Column("Month", "Calendar month.", "date"),
    "start": Column("Start", "When it started (UTC).", "datetime"),
    "end": Column("End", "When it ended (UTC).", "datetime"),
    "finish": Column("End", "Time of the session's last call (UTC).", "datetime"),
    "started_at": Column("Started", "When it started (UTC).", "datetime"),
    "ended_at": Column("Ended", "When it ended (UTC).", "datetime"),
    "ts_utc": Column("Time", "When the call was made (UTC).", "datetime"),
    "checked_at": Column("Checked", "When the check ran (UTC).", "datetime"),
    "detected_at": Column("Detected", "When the line was rejected or flagged (UTC).", "datetime"),
    "first_seen": Column("First seen", "First time it was seen (UTC).", "datetime"),
    "last_seen": Column("Last seen", "Latest time it was seen (UTC).", "datetime"),
    "life_week": Column("Week of life", "Weeks since the project's first call (week 0 is its first week).", "count"),
    # money
    "cost_usd": _metric("spend", "usd"),
    "spend_usd": _metric("spend", "usd"),
    "savings_usd": _metric("savings", "usd"),
    "monthly_budget_usd": Column("Monthly budget", "The org's budget per calendar month (tenant settings).", "usd"),
    "budget_usd": Column("Budget", "The org's budget for the month.", "usd"),
    "month_to_date_usd": Column("Month to date", "Spend from the 1st of the month to the last day with data.", "usd"),
    "forecast_remaining_usd": Column("Rest of month", "Forecast spend for the month's remaining days.", "usd"),
    "projected_month_end_usd": Column("Projected month end", "Month to date plus the forecast rest of month.", "usd"),
    "p10_usd": Column("Low (10%)", "The month end is below this in 1 of 10 simulated futures.", "usd"),
    "p90_usd": Column("High (90%)", "The month end is above this in 1 of 10 simulated futures.", "usd"),
    "forecast_usd": Column("Forecast", "Forecast spend over the horizon.", "usd"),
    "what_if_forecast_usd": Column("What-if forecast", "Forecast spend with the change applied.", "usd"),
    "what_if_month_end_usd": Column("What-if month end", "Projected month end with the change applied.", "usd"),
    # Ask's what-if answers (aioa.ask.whatif)
    "recent_cost_usd": Column("Recent cost", "Spend over the answer's recent window, as it was.", "usd"),
    "what_if_cost_usd": Column("What-if cost", "The same usage priced with the change applied.", "usd"),
    "saving_usd": Column("Saving", "Recent cost minus what-if cost.", "usd"),
    "share_moved": Column("Share moved", "Share of the model's tokens moved to the other model.", "ratio"),
    "router_threshold": Column("Router threshold", "The routing threshold asked about.", "score"),
    "champion_threshold": Column("Champion threshold", "The champion router's own threshold.", "score"),
    "strong_share_now": Column("Strong share now", "Share of tasks the strong model gets today.", "ratio"),
    "strong_share_what_if": Column("Strong share what-if", "Share of tasks it would get at that threshold.", "ratio"),
    "quality_what_if": Column("Quality what-if", "Expected success rate at that threshold.", "ratio"),
    # counts
    "calls": _metric("calls", "count"),
    "errors": _metric("error_calls", "count"),
    "error_calls": _metric("error_calls", "count"),
    "unpriced_calls": _metric("unpriced_calls", "count"),
    "handoffs": _metric("handoffs", "count"),
    "sessions": _metric("sessions", "count"),
    "users": Column("Users", "Distinct people with calls.", "count"),
    "subagents": Column("Subagents", "Subagents the session started.", "count"),
    "subagent_calls": Column("Subagent calls", "Calls made by the session's subagents.", "count"),
    "tool_calls": Column("Tool calls", "Tool uses in the session.", "count"),
    "failures": Column("Failures", "Tool calls whose result was an error.", "count"),
    "with_known_outcome": Column(
        "With known outcome", "Handoffs whose success was measured (imported legacy rows are not).", "count"
    ),
    "source_line": Column("Line", "Line number in the source file.", "count"),
    "unexpected_count": Column("Unexpected rows", "Rows that broke the expectation.", "count"),
    # tokens
    "tokens": _metric("tokens", "tokens"),
    "total_tokens": _metric("tokens", "tokens"),
    "input_tokens": Column("Input tokens", "Uncached prompt tokens.", "tokens"),
    "output_tokens": Column("Output tokens", "Tokens the model wrote.", "tokens"),
    "cache_write_tokens": Column(
        "Cache-write tokens", "Prompt tokens written to the cache (5-minute and 1-hour).", "tokens"
    ),
    "cache_creation_tokens": Column("Cache-write tokens", "Prompt tokens written to the cache.", "tokens"),
    "cache_read_tokens": Column("Cache-read tokens", "Prompt tokens served from the cache (billed at ~10%).", "tokens"),
    "attributed_tokens": Column(
        "Tokens attributed", "Tokens of the calls that used the tool, shared among its tools.", "tokens"
    ),
    # ratios
    "cache_hit_rate": _metric("cache_hit_rate", "ratio"),
    "error_rate": _metric("error_rate", "ratio"),
    "success_rate": Column("Success rate", "Share of calls or handoffs with a known outcome that succeeded.", "ratio"),
    "token_share": Column("Share of tokens", "This tool's share of all tokens attributed to tools.", "ratio"),
    "verified_share": Column("Verified", "Share of handoffs whose outcome was verified (tests, review).", "ratio"),
    "budget_used": Column("Budget used", "Spend ÷ the monthly budget.", "ratio"),
    "share_of_budget": Column("Share of budget", "Projected month end ÷ budget.", "ratio"),
    "prob_exceed_budget": Column(
        "Chance of overrun", "Share of 1,000 simulated futures in which the month ends above the budget.", "ratio"
    ),
    "mean_quality": Column("Mean quality", "Average quality score (0–1) of the handoffs' results.", "score"),
    # latency
    "mean_duration_ms": Column("Mean duration", "Average time from the tool call to its result.", "duration_ms"),
    "latency_ms": Column("Latency", "Time from request to the last token of the response.", "duration_ms"),
    # anomalies
    "grain": Column("Grain", "Detected on hourly or daily totals.", "text"),
    "metric": Column("Metric", "The measure that moved.", "text"),
    "observed": Column("Observed", "The value in the anomalous window.", "number"),
    "expected": Column("Expected", "The usual value for that window (the detector's baseline).", "number"),
    "score": Column("Score", "How far from usual, in robust standard deviations (higher is stranger).", "number"),
    "driver_project": Column("Driving project", "The project that contributed most to the change.", "text"),
    "driver_model": Column("Driving model", "The model that contributed most to the change.", "text"),
    "driver_user": Column("Driving user", "The user who contributed most to the change.", "text"),
    "drivers": Column("Drivers", "What drove the change, largest contribution first.", "text"),
    # routing
    "apgr": Column(
        "APGR",
        "Average performance gap recovered: how much of the quality gap between the cheap and the strong model the "
        "router recovers, averaged over every share of calls sent to the strong model (0.5 = random, 1 = perfect).",
        "score",
    ),
    "cpt_50": Column(
        "Strong calls for 50% (CPT50)",
        "Call-performance threshold: the share of calls that must go to the strong model to recover half of the "
        "quality gap (lower is better).",
        "ratio",
    ),
    "cpt_80": Column(
        "Strong calls for 80% (CPT80)",
        "Share of calls that must go to the strong model to recover 80% of the quality gap (lower is better).",
        "ratio",
    ),
    "cost_saved_at_95pct_quality": Column(
        "Saved at 95% quality",
        "Cost saved against always-strong at the cheapest point with 95% of its quality.",
        "ratio",
    ),
    "auc": Column("AUC", "How well the router's score separates tasks the cheap model solves (0.5 = chance).", "score"),
    "brier": Column(
        "Brier score", "Mean squared error of the predicted success probability (lower is better).", "score"
    ),
    "handoff_accuracy": Column(
        "Handoff accuracy", "Share of tasks where the decision at the operating threshold was right.", "ratio"
    ),
    "quality_all_cheap": Column("Quality, all cheap", "Success rate if every task went to the cheap model.", "ratio"),
    "quality_all_strong": Column(
        "Quality, all strong", "Success rate if every task went to the strong model.", "ratio"
    ),
    # forecasts
    "mase": Column(
        "MASE", "Mean absolute scaled error: forecast error ÷ the error of repeating last week (< 1 beats it).", "score"
    ),
    "wape": Column("WAPE", "Weighted absolute percentage error: total absolute error ÷ total actual usage.", "ratio"),
    "coverage_80": Column(
        "80% interval coverage", "Share of actual days inside the 80% interval (75–85% is right).", "ratio"
    ),
    "month_total_error": Column(
        "Month-total error", "Error of the mid-month projection of the month's total.", "ratio"
    ),
    "forecaster": Column("Model", "The forecasting model.", "text"),
    # quality and quarantine
    "severity": Column("Severity", "error blocks publishing; warn only reports.", "text"),
    "reason": Column("Reason", "Why the line was rejected or flagged.", "text"),
    "source_system": Column("Source", "The log format the line came from.", "text"),
    "source_file": Column("File", "The log file the line came from.", "text"),
    "raw_excerpt": Column("Excerpt", "The start of the line as read.", "text"),
    "suite": Column("Suite", "The expectation suite.", "text"),
    "asset": Column("Asset", "The table the check ran on.", "text"),
    "expectation": Column("Expectation", "What was expected of the data.", "text"),
    "column_name": Column("Column", "The column the expectation checks.", "text"),
    "success": Column("Passed", "Whether the expectation held.", "text"),
    "lines": Column("Lines", "Input lines with this reason.", "count"),
    "files": Column("Files", "Files with such lines.", "count"),
    # behaviour, lifecycle, workflow patterns and comparisons (aioa.analytics.behaviour / compare / kpi_formula)
    "median_session_minutes": Column(
        "Median session (min)", "Half of the sessions are shorter: minutes from the first to the last call.", "number"
    ),
    "p90_session_minutes": Column("90% of sessions under (min)", "Nine sessions in ten are shorter.", "number"),
    "cost_per_session_usd": Column("Cost per session", "Spend ÷ sessions with a known cost.", "usd"),
    "median_session_cost_usd": Column("Median cost per session", "Half of the sessions cost less.", "usd"),
    "p90_session_cost_usd": Column("90% of sessions cost under", "Nine sessions in ten cost less.", "usd"),
    "calls_per_session": Column("Calls per session", "Model calls in an average session.", "number"),
    "tool_calls_per_session": Column("Tool calls per session", "Tool uses in an average session.", "number"),
    "active_days": Column("Active days", "Days with at least one session.", "count"),
    "models_used": Column("Models used", "Distinct models called.", "count"),
    "top_model": Column("Most used model", "The model with the most calls.", "text"),
    "tools_used": Column("Tools used", "Distinct tools called (built-in and MCP).", "count"),
    "top_tool": Column("Most used tool", "The tool called most often.", "text"),
    "busiest_hour": Column("Busiest hour (UTC)", "The hour of day with the most calls.", "count"),
    "weekday": Column("Weekday", "Day of the week (1 = Monday).", "count"),
    "hour_of_day": Column("Hour (UTC)", "Hour of the day, UTC.", "count"),
    "share_of_calls": Column("Share of calls", "This model's share of the member's calls.", "ratio"),
    "tool_name": Column("Tool", "The tool's name (MCP tools as mcp__server__tool).", "text"),
    "share_of_tool_calls": Column("Share of tool calls", "This tool's share of the member's tool calls.", "ratio"),
    "week_start": Column("Week", "The week's first day (Monday).", "date"),
    "phase": Column(
        "Phase",
        "ramp-up, steady or wind-down: steady from the first to the last week whose 3-week average usage reaches "
        "half of the project's peak; weeks before are ramp-up, weeks after wind-down.",
        "text",
    ),
    "phase_since": Column("In this phase since", "First week of the current phase.", "date"),
    "peak_week": Column("Peak week", "The week with the highest 3-week average usage.", "date"),
    "life_weeks": Column("Weeks of life", "Weeks since the project's first call.", "count"),
    "share_of_peak": Column("Share of peak", "3-week average usage ÷ the project's peak.", "ratio"),
    "rolling_tokens": Column("Usage, 3-week average", "Mean weekly tokens over the last 3 weeks.", "tokens"),
    "days_covered": Column(
        "Days with data", "Days of the week inside the data (the latest week may be short).", "count"
    ),
    "pattern": Column("Sequence", "Consecutive steps in a session (a run of the same step counts once).", "text"),
    "steps": Column("Steps", "Steps in the sequence.", "count"),
    "support": Column("Support", "Share of sessions that contain the sequence.", "ratio"),
    "occurrences": Column("Occurrences", "Times the sequence occurs (a session may repeat it).", "count"),
    "failure_after_share": Column("Failed next step", "Share of occurrences whose next step failed.", "ratio"),
    "error_session_share": Column(
        "Sessions with errors", "Share of the sessions with the sequence that had an error.", "ratio"
    ),
    "error_lift": Column(
        "Error lift",
        "Error rate of sessions with the sequence ÷ error rate of all sessions (above 1: errors are more common).",
        "score",
    ),
    "expensive_session_share": Column(
        "Expensive sessions", "Share of the sessions with the sequence whose cost is in the top 10%.", "ratio"
    ),
    "expensive_lift": Column(
        "Expensive lift",
        "Share of expensive sessions among those with the sequence ÷ 10% (above 1: they cost more; longer sessions "
        "hold more sequences, so read it beside their length).",
        "score",
    ),
    "population_sessions": Column("Sessions compared", "Sessions with steps of this kind in the selection.", "count"),
    "group": Column("Group", "The side of the comparison.", "text"),
    "value": Column("Value", "The KPI's value (its formula over the metrics beside it).", "number"),
}


# How a registered metric's unit reads when a table names a column after the metric (Ask's answers do).
UNIT_KINDS: dict[str, Kind] = {"usd": "usd", "count": "count", "ratio": "ratio", "ms": "duration_ms"}


def column(name: str) -> Column:
    """The registry's entry; a metric of `aioa.metrics` by its name, in its unit; the name in words
    (`mean_duration_ms` -> `Mean duration ms`) for others."""
    if name in COLUMNS:
        return COLUMNS[name]
    if name in METRICS:
        return _metric(name, UNIT_KINDS[METRICS[name].unit])
    words = str(name).replace("_", " ").strip()
    return Column(words[:1].upper() + words[1:], "")


def label(name: str) -> str:
    return column(name).label


def format_value(name: str, value: Any) -> str:
    return column(name).format(value)


def readable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text in its column's format, columns under their labels (for plain-text and CLI tables)."""
    import pandas as pd

    shown = {}
    for name in frame.columns:
        spec, values = column(name), frame[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        fits = numeric or spec.kind in ("date", "datetime", "text")  # a name read as a number may hold words
        shown[spec.label] = values.map(spec.format if fits else FORMATTERS["text"])
    return pd.DataFrame(shown)
