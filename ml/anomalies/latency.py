"""Latency degradation: the mean log-latency of one day, and of two days together, per org, model and source
system against the trailing 28 days' calls of the same series (in SQL).

Latencies are close to log-normal, so z = (window mean of ln latency - reference median) / (sigma / sqrt(n)) is a
real z-score; the reference is the calls of the same series in the `latency_lookback_days` before the window (or,
when those hold fewer than `latency_min_calls`, of as many earlier whole days as hold that many: a small org sends a
model a span every few days), and sigma (1.4826 MAD) the larger of the reference's and the whole series' (a month
of ~30 calls can underestimate it).
A series is one source's calls of one kind of record (`TIMED_BY`): OTel spans and Claude Code's request events
arrive through the same OTel source (`source_system` 'otel', the events with call keys `otel:log:...`) but are timed
differently (a Sonnet request event's log-latency spreads about twice as wide as a span's) and must not dilute each
other. A small org sends a model one or two spans a day: two days together
make a degradation that lasts carry twice the evidence of one.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ml.anomalies.config import DEFAULT_THRESHOLDS, Thresholds

# A series' source, written out in each query below: the source system, and for OTel whether the call is a span or a
# log event (Claude Code's api_request events, whose call key is 'otel:log:' and a hash of the record): 'otel events'.


def latency_scores(connection: duckdb.DuckDBPyConnection, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """One row per org, model, source system and window (each day with latency calls, and each such day together
    with the day before when both have calls): `period` (the window's first day), `days`, calls, observed and
    expected mean latency, z-score."""
    return connection.execute(
        """
        with calls as (
            select org_id, model,
                   source_system || case when call_key like 'otel:log:%' then ' events' else '' end as source_system,
                   cast(day as timestamp) as period,
                   ln(latency_ms) as log_latency, latency_ms
            from marts.fct_llm_calls
            where latency_ms > 0
        ),
        days as (
            select org_id, model, source_system, period, count(*) as calls, sum(log_latency) as sum_log,
                   sum(latency_ms) as sum_latency
            from calls group by all
        ),
        windows as (
            select org_id, model, source_system, period, 1 as days, calls, sum_log, sum_latency from days
            union all
            select day.org_id, day.model, day.source_system, before.period, 2 as days, day.calls + before.calls,
                   day.sum_log + before.sum_log, day.sum_latency + before.sum_latency
            from days as day
            join days as before
              on before.org_id = day.org_id and before.model = day.model
             and before.source_system = day.source_system and before.period = day.period - interval 1 day
        ),
        earlier as (  -- each window's earlier days of its series, with the calls of the days between them
            select windows.org_id, windows.model, windows.source_system, windows.period, windows.days,
                   past.period as day,
                   coalesce(sum(past.calls) over (
                       partition by windows.org_id, windows.model, windows.source_system, windows.period, windows.days
                       order by past.period desc rows between unbounded preceding and 1 preceding
                   ), 0) as later_calls
            from windows
            join days as past
              on past.org_id = windows.org_id and past.model = windows.model
             and past.source_system = windows.source_system and past.period < windows.period
        ),
        reference_days as (  -- the lookback, or as far back as it takes to hold the calls a score needs
            select * from earlier where day >= period - to_days(?) or later_calls < ?
        ),
        reference as (
            select reference_days.org_id, reference_days.model, reference_days.source_system, reference_days.period,
                   reference_days.days, count(*) as reference_calls, median(calls.log_latency) as center,
                   1.4826 * mad(calls.log_latency) as sigma
            from reference_days
            join calls
              on calls.org_id = reference_days.org_id and calls.model = reference_days.model
             and calls.source_system = reference_days.source_system and calls.period = reference_days.day
            group by all
        ),
        series as (
            select org_id, model, source_system, 1.4826 * mad(log_latency) as sigma from calls group by all
        )
        select windows.org_id, windows.model, windows.source_system, windows.period, windows.days,
               'latency_ms' as metric, windows.calls, windows.sum_latency / windows.calls as observed,
               exp(reference.center) as expected, reference.reference_calls,
               case when greatest(reference.sigma, series.sigma) > 0
                    then (windows.sum_log / windows.calls - reference.center)
                         / (greatest(reference.sigma, series.sigma) / sqrt(windows.calls)) end as score
        from windows
        join reference using (org_id, model, source_system, period, days)
        join series using (org_id, model, source_system)
        where reference.reference_calls >= ?
        order by windows.org_id, windows.model, windows.source_system, windows.period, windows.days
    """,
        [thresholds.latency_lookback_days, thresholds.latency_min_calls, thresholds.latency_min_calls],
    ).df()


def latency_drivers(
    connection: duckdb.DuckDBPyConnection,
    org_id: str,
    model: str,
    source_system: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    expected_ms: float,
) -> pd.DataFrame:
    """Excess latency (ms above expected, summed over calls) of the series by user and project in the window."""
    return connection.execute(
        """
        select dimension, member, sum(latency_ms - ?) as excess
        from marts.fct_llm_calls
        cross join lateral (values ('user_id', coalesce(user_id, '(unknown)')),
                                   ('project_id', coalesce(project_id, '(unassigned)'))) as members(dimension, member)
        where org_id = ? and model = ? and latency_ms > 0
          and source_system || case when call_key like 'otel:log:%' then ' events' else '' end = ?
          and cast(day as timestamp) >= ? and cast(day as timestamp) < ?
        group by all
    """,
        [expected_ms, org_id, model, source_system, start, end],
    ).df()


def window_latency(
    connection: duckdb.DuckDBPyConnection,
    org_id: str,
    model: str,
    source_system: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> float:
    """The series' mean latency (ms) over the calls of [start, end)."""
    return connection.execute(
        """
        select avg(latency_ms) from marts.fct_llm_calls
        where org_id = ? and model = ? and latency_ms > 0
          and source_system || case when call_key like 'otel:log:%' then ' events' else '' end = ?
          and cast(day as timestamp) >= ? and cast(day as timestamp) < ?
    """,
        [org_id, model, source_system, start, end],
    ).fetchone()[0]
