"""Latency degradation: a day's mean log-latency per org and model against the trailing 28 days' calls (in SQL).

Latencies are close to log-normal, so z = (day mean of ln latency - reference median) / (sigma / sqrt(n)) is a real
z-score; the reference is the calls of the same org and model in the previous `latency_lookback_days`, and sigma
(1.4826 MAD) the larger of the reference's and the whole series' (a month of ~30 calls can underestimate it).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ml.anomalies.config import DEFAULT_THRESHOLDS, Thresholds


def latency_scores(connection: duckdb.DuckDBPyConnection, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """One row per org, model and day with latency calls: observed and expected mean latency, z-score."""
    return connection.execute(
        """
        with calls as (
            select org_id, model, cast(day as timestamp) as period, ln(latency_ms) as log_latency, latency_ms
            from marts.fct_llm_calls
            where latency_ms > 0
        ),
        days as (
            select org_id, model, period, count(*) as calls, avg(log_latency) as mean_log, avg(latency_ms) as observed
            from calls group by all
        ),
        reference as (
            select days.org_id, days.model, days.period, count(*) as reference_calls,
                   median(calls.log_latency) as center, 1.4826 * mad(calls.log_latency) as sigma
            from days
            join calls
              on calls.org_id = days.org_id and calls.model = days.model
             and calls.period < days.period and calls.period >= days.period - to_days(?)
            group by all
        ),
        series as (
            select org_id, model, 1.4826 * mad(log_latency) as sigma from calls group by all
        )
        select days.org_id, days.model, days.period, 'latency_ms' as metric, days.calls, days.observed,
               exp(reference.center) as expected, reference.reference_calls,
               case when greatest(reference.sigma, series.sigma) > 0
                    then (days.mean_log - reference.center)
                         / (greatest(reference.sigma, series.sigma) / sqrt(days.calls)) end as score
        from days
        join reference using (org_id, model, period)
        join series using (org_id, model)
        where reference.reference_calls >= ?
        order by days.org_id, days.model, days.period
    """,
        [thresholds.latency_lookback_days, thresholds.latency_min_calls],
    ).df()


def latency_drivers(
    connection: duckdb.DuckDBPyConnection,
    org_id: str,
    model: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    expected_ms: float,
) -> pd.DataFrame:
    """Excess latency (ms above expected, summed over calls) by user and project in the window."""
    return connection.execute(
        """
        select dimension, member, sum(latency_ms - ?) as excess
        from marts.fct_llm_calls
        cross join lateral (values ('user_id', coalesce(user_id, '(unknown)')),
                                   ('project_id', coalesce(project_id, '(unassigned)'))) as members(dimension, member)
        where org_id = ? and model = ? and latency_ms > 0
          and cast(day as timestamp) >= ? and cast(day as timestamp) < ?
        group by all
    """,
        [expected_ms, org_id, model, start, end],
    ).df()
