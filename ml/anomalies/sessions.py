"""Unusual sessions: one session far longer, or far dearer per call, than the org's sessions of the trailing weeks
(in SQL).

A runaway agent is one session looping, a cost spike one session of an expensive model writing huge caches: both
are plain in the session's own size long before they move an org's or a user's day. A session's calls, cost and
cost per call are close to log-normal, so each scores z = (ln value - reference median) / sigma, with the reference
the org's sessions of the same source system (Claude Code transcripts and OTel traces size their sessions
differently) that started in the previous `session_lookback_days`, and sigma 1.4826 MAD of the reference's ln
values, floored by the whole series' (a quiet month can make it small). A longer session is also a costlier one,
so the evidence of size is the mean of the calls and cost z (`size_score`; the calls z alone when nothing in the
session has a price): two views of one excess agree where noise in either does not. Likewise a cost spike is a session
both dearer per call and dearer in all: the mean of the cost and cost per call z (`cost_spike_score`). A short
session of two or three calls on the dearest model is often far dearer per call than the org's sessions (on the
anomaly-free tuning seeds 1500-1507 such sessions raised cost per call z up to 2.9) but costs no more than a usual
session; its cost z stays near 0 and the mean near half its cost per call z. A runaway session costs more too, but
through its number of calls: a session is a cost spike only where its cost per call z is at least its calls z
(`spike_scores`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ml.anomalies.config import DEFAULT_THRESHOLDS, Thresholds


def session_scores(connection: duckdb.DuckDBPyConnection, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """One row per session with enough reference sessions: its window, calls, errors, cost and the z-scores."""
    scores = connection.execute(
        """
        with sessions as (
            select org_id, source_system, session_id, any_value(coalesce(user_id, '(unknown)')) as user_id,
                   min(ts_utc) as first_call, max(ts_utc) as last_call, cast(min(ts_utc) as date) as day,
                   count(*) as calls, count(*) filter (where is_error) as error_calls,
                   sum(coalesce(cost_usd, 0)) as cost_usd
            from marts.fct_llm_calls
            where session_id is not null
            group by org_id, source_system, session_id
        ),
        logged as (
            select *, ln(calls) as log_calls, case when cost_usd > 0 then ln(cost_usd) end as log_cost,
                   case when cost_usd > 0 then ln(cost_usd / calls) end as log_cost_per_call
            from sessions
        ),
        reference as (
            select session.org_id, session.source_system, session.session_id, count(*) as reference_sessions,
                   median(past.log_calls) as calls_center, 1.4826 * mad(past.log_calls) as calls_sigma,
                   median(past.log_cost) as cost_center, 1.4826 * mad(past.log_cost) as cost_sigma,
                   median(past.log_cost_per_call) as per_call_center,
                   1.4826 * mad(past.log_cost_per_call) as per_call_sigma, median(past.calls) as usual_calls, median(past.cost_usd) as usual_cost
            from logged as session
            join logged as past
              on past.org_id = session.org_id and past.source_system = session.source_system
             and past.day < session.day and past.day >= session.day - to_days(?)
            group by all
        ),
        series as (
            select org_id, source_system, 1.4826 * mad(log_calls) as calls_sigma,
                   1.4826 * mad(log_cost) as cost_sigma, 1.4826 * mad(log_cost_per_call) as per_call_sigma
            from logged group by all
        )
        select logged.org_id, logged.source_system, logged.session_id, logged.user_id, logged.first_call,
               logged.last_call, logged.calls, logged.error_calls, logged.cost_usd, reference.usual_calls,
               reference.usual_cost, reference.reference_sessions,
               (logged.log_calls - reference.calls_center)
                   / nullif(greatest(reference.calls_sigma, series.calls_sigma), 0) as calls_score,
               (logged.log_cost - reference.cost_center)
                   / nullif(greatest(reference.cost_sigma, series.cost_sigma), 0) as cost_score,
               (logged.log_cost_per_call - reference.per_call_center)
                   / nullif(greatest(reference.per_call_sigma, series.per_call_sigma), 0) as cost_per_call_score
        from logged
        join reference using (org_id, source_system, session_id)
        join series using (org_id, source_system)
        where reference.reference_sessions >= ?
        order by logged.org_id, logged.first_call
    """,
        [thresholds.session_lookback_days, thresholds.session_min_reference],
    ).df()
    scores["size_score"] = scores[["calls_score", "cost_score"]].mean(axis=1)  # calls alone when cost is unknown
    scores["cost_spike_score"] = (scores["cost_score"] + scores["cost_per_call_score"]) / 2  # NaN without a price
    return scores


def session_drivers(
    connection: duckdb.DuckDBPyConnection, org_id: str, session_id: str, metric: str
) -> dict[str, pd.Series]:
    """The session's calls, errors or cost by project, model and user (the whole session is the excess)."""
    frame = connection.execute(
        """
        select coalesce(project_id, '(unassigned)') as project_id, model, coalesce(user_id, '(unknown)') as user_id,
               count(*)::double as calls, count(*) filter (where is_error)::double as error_calls,
               sum(coalesce(cost_usd, 0)) as cost_usd
        from marts.fct_llm_calls
        where org_id = ? and session_id = ?
        group by all
    """,
        [org_id, session_id],
    ).df()
    return {dimension: frame.groupby(dimension)[metric].sum() for dimension in ("project_id", "model", "user_id")}


def spike_scores(scores: pd.DataFrame) -> pd.Series:
    """Each session's evidence of a cost spike: its `cost_spike_score` where the excess is in the cost per call (cost
    per call z at least calls z), else NaN (a longer session costs more through its calls: size, not price)."""
    return scores["cost_spike_score"].where(scores["cost_per_call_score"] >= scores["calls_score"])
