"""The expectation suites: what Great Expectations checks that dbt's tests do not.

dbt's tests own the rules every row must obey: keys, nulls, accepted values, ranges and the reconciliation of raw
with the marts (`dbt_project/tests`, `dbt_project/models/*/_*__models.yml`). The suites here judge the data as a
whole, against its own recent past and against time:

- `raw_schema_drift` (error): the newest input of each source is not mostly lines of an unknown shape (unknown
  fields, missing or wrong-typed fields): a changed log format must not reach the app as silently wrong numbers.
- `raw_contract_versions` (warn): every raw row follows the current contract version.
- `freshness` (warn): the last ingest and the newest event are younger than `freshness_hours`.
- `usage_vs_trailing_window` (warn): per org, calls and cost of the last 7 days against the 28 days before, and
  the share of unpriced calls against that window; an org whose baseline holds too few calls for a ratio to mean
  anything (a handful of sessions) is not judged.

Each suite reads one small frame computed in the warehouse (portable SQL: DuckDB and PostgreSQL), so the suites cost
the same on ten thousand or ten million calls. A failing `error` suite blocks publication of the read snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aioa.contracts import CONTRACT_VERSION

ERROR = "error"  # blocks publishing the snapshot
WARN = "warn"  # shown on the Data quality page and in Dagster, does not block

# Schema drift: share of a source's newest input lines quarantined or flagged for their shape, and the fewest such
# lines that count (one odd line in a small increment is not a changed format).
MAX_DRIFTED_SHARE = 0.05
MIN_DRIFTED_LINES = 10
# Usage against the trailing window: recent (7 days) per-day mean over the baseline (28 days before) per-day mean.
RECENT_DAYS, BASELINE_DAYS = 7, 28
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


def stale_before(freshness_hours: int) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=freshness_hours)).replace(tzinfo=None)


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
        "usage_vs_trailing_window",
        "marts/agg_usage_daily",
        f"Per org, calls and cost per day over the last {RECENT_DAYS} days lie within {MIN_RATIO}× to {MAX_RATIO:.0f}× "
        f"of the {BASELINE_DAYS} days before, and the share of unpriced calls rose by at most "
        f"{MAX_UNPRICED_SHARE_RISE:.0%} (orgs with fewer than {MIN_BASELINE_CALLS} calls in the baseline are not "
        "judged: a ratio of a few sessions is noise).",
        f"""
        with bounds as (
            select max(day) as last_day from {{marts}}.agg_usage_daily
        ),
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
        select org_id, recent_calls, baseline_calls,
               case when baseline_calls >= {MIN_BASELINE_CALLS}
                    then (cast(recent_calls as double precision) / {RECENT_DAYS})
                         / (cast(baseline_calls as double precision) / {BASELINE_DAYS}) end as calls_ratio,
               case when baseline_calls >= {MIN_BASELINE_CALLS} and baseline_cost > 0
                    then (cast(recent_cost as double precision) / {RECENT_DAYS})
                         / (cast(baseline_cost as double precision) / {BASELINE_DAYS}) end as cost_ratio,
               case when baseline_calls >= {MIN_BASELINE_CALLS} and recent_calls > 0
                    then cast(recent_unpriced as double precision) / recent_calls
                         - cast(baseline_unpriced as double precision) / baseline_calls end as unpriced_share_rise
        from windows
        """,
        lambda e, stale_before: [
            e.ExpectColumnValuesToBeBetween(column="calls_ratio", min_value=MIN_RATIO, max_value=MAX_RATIO),
            e.ExpectColumnValuesToBeBetween(column="cost_ratio", min_value=MIN_RATIO, max_value=MAX_RATIO),
            e.ExpectColumnValuesToBeBetween(column="unpriced_share_rise", max_value=MAX_UNPRICED_SHARE_RISE),
        ],
        severity=WARN,
    ),
]
