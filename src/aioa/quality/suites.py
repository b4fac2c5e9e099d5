"""The expectation suites: what Great Expectations checks that dbt's tests do not.

dbt's tests own the rules every row must obey: keys, nulls, accepted values, ranges and the reconciliation of raw
with the marts (`dbt_project/tests`, `dbt_project/models/*/_*__models.yml`). The suites here judge the data as a
whole, against its own recent past and against time:

- `raw_schema_drift` (error): the newest input of each source is not mostly lines of an unknown shape (unknown
  fields, missing or wrong-typed fields): a changed log format must not reach the app as silently wrong numbers.
- `raw_contract_versions` (warn): every raw row follows the current contract version.
- `freshness` (warn): the last ingest and the newest event are younger than `freshness_hours`.
- `usage_volume` (warn): per org, cost and tokens of the last 7 days' complete days against the stored forecast
  for those days (`ml.forecasts`, the previous run's), and where no stored forecast covers them, calls and cost
  of the last 7 days against the 28 days before; the `baseline` column says which an org was judged against. The
  share of unpriced calls is judged against the trailing window. An org whose trailing window holds too few calls
  for a ratio to mean anything (a handful of sessions) is not judged.

Each suite reads one small frame computed in the warehouse (portable SQL: DuckDB and PostgreSQL), so the suites cost
the same on ten thousand or ten million calls. A failing `error` suite blocks publication of the read snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aioa.contracts import CONTRACT_VERSION

if TYPE_CHECKING:
    import pandas as pd

ERROR = "error"  # blocks publishing the snapshot
WARN = "warn"  # shown on the Data quality page and in Dagster, does not block

# Schema drift: share of a source's newest input lines quarantined or flagged for their shape, and the fewest such
# lines that count (one odd line in a small increment is not a changed format).
MAX_DRIFTED_SHARE = 0.05
MIN_DRIFTED_LINES = 10
# Usage volume: recent (7 days) against the stored forecast of those days (its complete days: today is still being
# written), else the recent per-day mean over the baseline (28 days before) per-day mean.
RECENT_DAYS, BASELINE_DAYS = 7, 28
FORECAST, TRAILING_WINDOW = "forecast", "trailing_window"  # the `baseline` an org's volume was judged against
MIN_RATIO, MAX_RATIO = 0.25, 4.0
# Fewest baseline calls (28 days) an org needs to be judged: calls come in sessions of ~8, so below this a week
# expects under ~6 sessions and one session more or less swings the ratio past the bounds (noise, not a change).
MIN_BASELINE_CALLS = 200
MAX_UNPRICED_SHARE_RISE = 0.05
# Quarantine reasons that describe the shape of a record (the readers' wording), not a damaged line or file.
SHAPE_REASONS = ("unknown%fields:%", "%missing %", "%wrong type for %")


@dataclass(frozen=True)
class Suite:
    name: str
    asset: str  # the Dagster asset key the check is shown on, "marts/<model>" (checks run after the marts are built)
    description: str
    sql: str
    expectations: Callable  # (gx.expectations module, stale_before) -> list of expectations; GE imports lazily
    severity: str = ERROR
    # The SQL to run instead when the warehouse holds no stored forecast (`ml.forecasts` not built yet).
    sql_without_forecasts: str | None = None
    # What the suite observed per column, stored where an expectation reports no observed value of its own.
    observe: Callable[[pd.DataFrame], dict[str, str]] | None = None


def stale_before(freshness_hours: int) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=freshness_hours)).replace(tzinfo=None)


def usage_volume_sql(*, with_forecasts: bool) -> str:
    """Per org: the ratios the `usage_volume` suite judges and the `baseline` they were measured against. With
    forecasts, an org whose stored org-level forecast covers complete days of the recent window is judged against
    it (cost and tokens: what is forecast); the others against the trailing window (calls and cost)."""
    forecast_ctes = f"""
        forecast_days as (
            -- complete days (not today) of the recent window that the stored forecast covers
            select forecasts.org_id, forecasts.day,
                   sum(case when forecasts.metric = 'cost_usd' then forecasts.forecast end) as forecast_cost,
                   sum(case when forecasts.metric = 'total_tokens' then forecasts.forecast end) as forecast_tokens
            from {{ml}}.forecasts as forecasts
            cross join bounds
            where forecasts.kind = 'forecast' and forecasts.project_id is null
              and forecasts.day > bounds.last_day - {RECENT_DAYS} and forecasts.day <= bounds.last_day
              and forecasts.day < current_date
            group by forecasts.org_id, forecasts.day
        ),
        actual_days as (
            select org_id, day, sum(coalesce(cost_usd, 0)) as cost, sum(total_tokens) as tokens
            from {{marts}}.agg_usage_daily
            group by org_id, day
        ),
        against_forecast as (
            select forecast_days.org_id,
                   sum(coalesce(actual_days.cost, 0)) as actual_cost,
                   sum(coalesce(actual_days.tokens, 0)) as actual_tokens,
                   sum(forecast_days.forecast_cost) as forecast_cost,
                   sum(forecast_days.forecast_tokens) as forecast_tokens
            from forecast_days
            left join actual_days
                on actual_days.org_id = forecast_days.org_id and actual_days.day = forecast_days.day
            group by forecast_days.org_id
        ),"""
    judged = f"windows.baseline_calls >= {MIN_BASELINE_CALLS}"
    trailing_calls = (
        f"(cast(windows.recent_calls as double precision) / {RECENT_DAYS})"
        f" / (cast(windows.baseline_calls as double precision) / {BASELINE_DAYS})"
    )
    trailing_cost = (
        f"(cast(windows.recent_cost as double precision) / {RECENT_DAYS})"
        f" / (cast(windows.baseline_cost as double precision) / {BASELINE_DAYS})"
    )
    if with_forecasts:
        on_forecast = "against_forecast.org_id is not null"
        select = f"""
               case when {on_forecast} then '{FORECAST}' else '{TRAILING_WINDOW}' end as baseline,
               case when {judged} and not {on_forecast} then {trailing_calls} end as calls_ratio,
               case when {judged} and {on_forecast} and against_forecast.forecast_cost > 0
                    then cast(against_forecast.actual_cost as double precision) / against_forecast.forecast_cost
                    when {judged} and not {on_forecast} and windows.baseline_cost > 0
                    then {trailing_cost} end as cost_ratio,
               case when {judged} and {on_forecast} and against_forecast.forecast_tokens > 0
                    then cast(against_forecast.actual_tokens as double precision) / against_forecast.forecast_tokens
                    end as tokens_ratio,"""
        joined = "left join against_forecast on against_forecast.org_id = windows.org_id"
    else:
        select = f"""
               '{TRAILING_WINDOW}' as baseline,
               case when {judged} then {trailing_calls} end as calls_ratio,
               case when {judged} and windows.baseline_cost > 0 then {trailing_cost} end as cost_ratio,
               cast(null as double precision) as tokens_ratio,"""
        joined = ""
    return f"""
        with bounds as (
            select max(day) as last_day from {{marts}}.agg_usage_daily
        ),{forecast_ctes if with_forecasts else ""}
        windows as (
            select usage.org_id,
                   sum(case when usage.day > bounds.last_day - {RECENT_DAYS} then usage.calls else 0 end) as recent_calls,
                   sum(case when usage.day <= bounds.last_day - {RECENT_DAYS} then usage.calls else 0 end)
                       as baseline_calls,
                   sum(case when usage.day > bounds.last_day - {RECENT_DAYS}
                            then coalesce(usage.cost_usd, 0) else 0 end) as recent_cost,
                   sum(case when usage.day <= bounds.last_day - {RECENT_DAYS}
                            then coalesce(usage.cost_usd, 0) else 0 end) as baseline_cost,
                   sum(case when usage.day > bounds.last_day - {RECENT_DAYS} then usage.unpriced_calls else 0 end)
                       as recent_unpriced,
                   sum(case when usage.day <= bounds.last_day - {RECENT_DAYS} then usage.unpriced_calls else 0 end)
                       as baseline_unpriced
            from {{marts}}.agg_usage_daily as usage
            cross join bounds
            where usage.day > bounds.last_day - {RECENT_DAYS + BASELINE_DAYS}
            group by usage.org_id
        )
        select windows.org_id, windows.recent_calls, windows.baseline_calls,{select}
               case when {judged} and windows.recent_calls > 0
                    then cast(windows.recent_unpriced as double precision) / windows.recent_calls
                         - cast(windows.baseline_unpriced as double precision) / windows.baseline_calls
                    end as unpriced_share_rise
        from windows
        {joined}
        """


def baselines_by_org(frame: pd.DataFrame) -> str:
    """Which orgs were judged against which baseline, e.g. `forecast: acme; trailing_window: beta, gamma`."""
    return "; ".join(
        f"{baseline}: {', '.join(sorted(map(str, group['org_id'])))}"
        for baseline, group in sorted(frame.groupby("baseline"), key=lambda item: item[0])
    )


_SHAPE_CONDITION = " or ".join(f"reason like '{pattern}'" for pattern in SHAPE_REASONS)

SUITES: list[Suite] = [
    Suite(
        "raw_schema_drift",
        "marts/fct_llm_calls",
        f"Per source, at most {MAX_DRIFTED_SHARE:.0%} of the lines its newest ingest read were quarantined or flagged "
        "for their shape (unknown fields, missing or wrong-typed fields); fewer than "
        f"{MIN_DRIFTED_LINES} such lines are not judged.",
        f"""
        with newest as (
            select source_system, ingest_run_id, lines_read,
                   row_number() over (partition by source_system order by started_at desc) as recency
            from {{raw}}.ingest_runs
            where lines_read > 0
        ),
        drifted as (
            select source_system, ingest_run_id, count(*) as lines
            from {{raw}}.quarantine
            where {_SHAPE_CONDITION}
            group by source_system, ingest_run_id
        )
        select newest.source_system, newest.ingest_run_id, newest.lines_read,
               coalesce(drifted.lines, 0) as drifted_lines,
               case when coalesce(drifted.lines, 0) >= {MIN_DRIFTED_LINES}
                    then cast(drifted.lines as double precision) / newest.lines_read else 0 end as drifted_share
        from newest
        left join drifted
            on drifted.source_system = newest.source_system and drifted.ingest_run_id = newest.ingest_run_id
        where newest.recency = 1
        """,
        lambda e, stale_before: [
            e.ExpectColumnValuesToBeBetween(column="drifted_share", min_value=0, max_value=MAX_DRIFTED_SHARE)
        ],
    ),
    Suite(
        "raw_contract_versions",
        "marts/fct_llm_calls",
        f"Every raw call, tool call and handoff follows the current contract version ({CONTRACT_VERSION}).",
        """
        select 'llm_calls' as raw_table, contract_version, count(*) as row_count
        from {raw}.llm_calls group by contract_version
        union all
        select 'tool_calls', contract_version, count(*) from {raw}.tool_calls group by contract_version
        union all
        select 'handoffs', contract_version, count(*) from {raw}.handoffs group by contract_version
        """,
        lambda e, stale_before: [
            e.ExpectColumnValuesToBeInSet(column="contract_version", value_set=[CONTRACT_VERSION])
        ],
        severity=WARN,
    ),
    Suite(
        "freshness",
        "marts/fct_llm_calls",
        "The last successful ingest finished, and the newest call happened, within `freshness_hours` "
        "(setting AIOA_FRESHNESS_HOURS).",
        """
        select (select max(finished_at) from {raw}.ingest_runs where status = 'ok') as last_ingest_finished_at,
               (select max(ts_utc) from {raw}.llm_calls) as newest_call_at
        """,
        lambda e, stale_before: [
            e.ExpectColumnValuesToBeBetween(column="last_ingest_finished_at", min_value=stale_before),
            e.ExpectColumnValuesToBeBetween(column="newest_call_at", min_value=stale_before),
        ],
        severity=WARN,
    ),
    Suite(
        "usage_volume",
        "marts/agg_usage_daily",
        f"Per org, cost and tokens of the last {RECENT_DAYS} days' complete days lie within {MIN_RATIO}× to "
        f"{MAX_RATIO:.0f}× of the stored forecast for those days; without a stored forecast for them, calls and cost "
        f"per day over the last {RECENT_DAYS} days lie within those bounds of the {BASELINE_DAYS} days before (the "
        f"`baseline` column says which). The share of unpriced calls rose by at most {MAX_UNPRICED_SHARE_RISE:.0%} "
        f"against the trailing window. Orgs with fewer than {MIN_BASELINE_CALLS} calls in the {BASELINE_DAYS} days "
        "are not judged: a ratio of a few sessions is noise.",
        usage_volume_sql(with_forecasts=True),
        lambda e, stale_before: [
            e.ExpectColumnValuesToBeBetween(column="calls_ratio", min_value=MIN_RATIO, max_value=MAX_RATIO),
            e.ExpectColumnValuesToBeBetween(column="cost_ratio", min_value=MIN_RATIO, max_value=MAX_RATIO),
            e.ExpectColumnValuesToBeBetween(column="tokens_ratio", min_value=MIN_RATIO, max_value=MAX_RATIO),
            e.ExpectColumnValuesToBeBetween(column="unpriced_share_rise", max_value=MAX_UNPRICED_SHARE_RISE),
            e.ExpectColumnValuesToBeInSet(column="baseline", value_set=[FORECAST, TRAILING_WINDOW]),
        ],
        severity=WARN,
        sql_without_forecasts=usage_volume_sql(with_forecasts=False),
        observe=lambda frame: {"baseline": baselines_by_org(frame)},
    ),
]
