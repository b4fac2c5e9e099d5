"""Detect anomalies in the warehouse: score every org's and user's series, merge flagged periods into incidents,
name each incident's kind and what drove it (project, model, user)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from ml.anomalies import data
from ml.anomalies.config import DEFAULT_THRESHOLDS, GRAINS, Thresholds
from ml.anomalies.drivers import driver_columns, usage_drivers
from ml.anomalies.latency import latency_drivers, latency_scores, window_latency
from ml.anomalies.score import STEP, complete_grid, seasonal_scores
from ml.anomalies.sessions import session_drivers, session_scores, spike_scores

METRICS = ("calls", "sessions", "error_calls", "cost_usd")
LEVELS = (["org_id"], ["org_id", "user_id"])  # an org's total, and each of its users (a surge may hide in the total)
PRIMARY_METRIC = {
    "cost_spike": "cost_usd",
    "usage_surge": "calls",
    "error_burst": "error_calls",
    "runaway_agent": "calls",
    "latency_degradation": "latency_ms",
}
COLUMNS = [
    "org_id",
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
    "evidence",
]


@dataclass
class DetectionResult:
    anomalies: pd.DataFrame  # one alert per event
    scored_points: int = 0
    notes: list[str] = field(default_factory=list)
    detections: pd.DataFrame | None = None  # every detection before merging into alerts (each grain, level, session)


def detect(
    connection: duckdb.DuckDBPyConnection, grains: tuple[str, ...] = GRAINS, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> DetectionResult:
    """All anomalies at the given grains; raises data.AnomalyDataError when nothing at all can be scored."""
    frames, notes, scored, with_history = [], [], 0, 0
    for grain in grains:
        anomalies, points, history, grain_notes = _detect_grain(connection, grain, thresholds)
        frames.append(anomalies)
        scored, with_history, notes = scored + points, with_history + history, notes + grain_notes
    if scored == 0 and with_history > 0:
        raise data.AnomalyDataError("every series is constant (no variation at all): nothing to score against")
    if scored == 0:  # usage decides: latency alone is logged for too few calls to stand for the warehouse
        raise data.AnomalyDataError(
            f"too little history to score anything: a period is scored once {thresholds.min_history} earlier "
            "observations of its season slot exist (the same weekday for days; the same hour of a weekday or weekend "
            f"day for hours), i.e. after about {thresholds.min_history} weeks of daily or "
            f"{thresholds.min_history} weekdays of hourly usage"
        )
    if "day" in grains:
        anomalies, _ = _detect_latency(connection, thresholds)
        frames.append(anomalies)
    if "hour" in grains:  # a session lasts hours: its incidents are reported at the hourly grain
        frames.append(_detect_sessions(connection, thresholds))
    frames = [frame for frame in frames if len(frame)]
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    every = result.sort_values(["start", "org_id", "grain"], ignore_index=True)[COLUMNS]
    result = alerts(result).sort_values(["start", "org_id", "grain"], ignore_index=True)[COLUMNS]
    return DetectionResult(result, scored, notes, every)


# which detection of one event speaks for it: the kind in the order `_kind` decides an incident's (errors, one very
# long session, cost per call, more usage), then the finest window, then the top score. A runaway session's cost
# per call climbs with its context, so its session or hour may also read as a cost spike; a cost spike's session is
# short (about 8 turns) and does not read as a runaway agent.
KIND_PRIORITY = {"error_burst": 0, "runaway_agent": 1, "cost_spike": 2, "usage_surge": 3, "latency_degradation": 4}


def alerts(detections: pd.DataFrame) -> pd.DataFrame:
    """One alert per event: detections of one org whose windows overlap or touch (an error burst seen in the org's
    hour, the user's day and its session) are one event, reported once by its most specific detection (kind in
    KIND_PRIORITY order, then the shortest window, then the highest score) with every member's evidence. Latency
    windows are merged only with latency windows (slower spans are not more usage)."""
    if detections.empty:
        return detections
    frame = detections.copy()
    frame["family"] = (frame["kind"] == "latency_degradation").map({True: "latency", False: "usage"})
    frame = frame.sort_values(["org_id", "family", "start", "end"], ignore_index=True)
    series = frame["org_id"] + "|" + frame["family"]
    reach = frame.groupby(series)["end"].cummax().groupby(series).shift()
    frame["alert"] = ((series != series.shift()) | (frame["start"] > reach)).cumsum()
    frame["priority"] = frame["kind"].map(KIND_PRIORITY)
    frame["length"] = frame["end"] - frame["start"]
    ranked = frame.sort_values(["alert", "priority", "length", "score"], ascending=[True, True, True, False])
    # the speaking detection's evidence first, then the other members' ("; " between detections)
    evidence = ranked.groupby("alert", sort=False)["evidence"].agg(lambda parts: "; ".join(dict.fromkeys(parts)))
    primary = ranked.drop_duplicates("alert").set_index("alert")
    primary["evidence"] = evidence.reindex(primary.index)
    return primary.reset_index(drop=True)[detections.columns]


def _detect_grain(connection, grain: str, thresholds: Thresholds) -> tuple[pd.DataFrame, int, int, list[str]]:
    """Anomalies, periods scored, periods with enough history (scored or constant), notes."""
    usage, sessions, scores = usage_scores(connection, grain, thresholds)
    if usage.empty:
        return pd.DataFrame(columns=COLUMNS), 0, 0, [f"{grain}: no usage in the warehouse"]
    start, end = scores["period"].min(), scores["period"].max()
    points, history = int(scores["score"].notna().sum()), int(scores["expected"].notna().sum())
    if not points:
        return (
            pd.DataFrame(columns=COLUMNS),
            0,
            history,
            [f"{grain}: too little history ({start:%Y-%m-%d} to {end:%Y-%m-%d}) to score any {grain}"],
        )
    unscored = (
        scores[scores["level"] == "org"].groupby(["org_id", "metric"])["score"].apply(lambda score: score.isna().all())
    )
    notes = [
        f"{grain}: {org} {metric}: constant or too short, not scored"
        for (org, metric), flat in unscored.items()
        if flat and metric != "error_calls"
    ]
    flagged = scores[scores["score"] >= thresholds.score]
    if flagged.empty:
        return pd.DataFrame(columns=COLUMNS), points, history, notes
    incidents = _incidents(flagged, grain)
    rows = [
        _describe(incident, group, scores, usage, sessions, grain, thresholds)
        for incident, group in flagged.groupby(incidents)
    ]
    return pd.DataFrame(rows, columns=COLUMNS), points, history, notes


def usage_scores(connection, grain: str, thresholds: Thresholds) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Usage, sessions and the seasonal scores of every org's and user's calls, sessions, errors and cost."""
    usage = data.usage(connection, grain)
    sessions = data.sessions(connection, grain)
    if usage.empty:
        return usage, sessions, pd.DataFrame(columns=["period", "org_id", "user_id", "metric", "score", "level"])
    session_counts = sessions.groupby(["period", "org_id", "user_id"], as_index=False).agg(
        sessions=("session_id", "nunique")
    )
    per_user = (
        usage.groupby(["period", "org_id", "user_id"], as_index=False)[["calls", "error_calls", "cost_usd"]]
        .sum()
        .merge(session_counts, how="left")
        .fillna({"sessions": 0.0})
    )
    start, end = per_user["period"].min(), per_user["period"].max()
    scores = []
    for keys in LEVELS:
        grid = complete_grid(per_user, keys, list(METRICS), grain, start, end)
        for metric in METRICS:
            scores.append(
                seasonal_scores(grid, keys, metric, grain, thresholds).assign(
                    level="org" if keys == ["org_id"] else "user"
                )
            )
    scores = pd.concat(scores, ignore_index=True)
    scores["user_id"] = scores["user_id"].where(scores["level"] == "user")
    return usage, sessions, scores


def incident_count(scores: pd.DataFrame, grain: str, threshold: float) -> int:
    """How many incidents the usage scores raise at `threshold` (what the threshold's choice counts)."""
    flagged = scores[scores["score"] >= threshold]
    return int(_incidents(flagged, grain).nunique()) if len(flagged) else 0


def _incidents(flagged: pd.DataFrame, grain: str) -> pd.Series:
    """Flagged periods of one org that touch (no gap of a whole period) form one incident."""
    periods = flagged[["org_id", "period"]].drop_duplicates().sort_values(["org_id", "period"])
    gap = periods["period"].diff() > STEP[grain]
    new_org = periods["org_id"] != periods["org_id"].shift()
    periods["incident"] = (gap | new_org).cumsum()
    return flagged.merge(periods, on=["org_id", "period"], how="left")["incident"].set_axis(flagged.index)


def _window_sum(scores: pd.DataFrame, org: str, user: str | None, metric: str, start, end) -> tuple[float, float]:
    rows = scores[
        (scores["org_id"] == org)
        & (scores["metric"] == metric)
        & (scores["period"] >= start)
        & (scores["period"] <= end)
    ]
    rows = rows[rows["user_id"] == user] if user else rows[rows["level"] == "org"]
    return float(rows["observed"].sum()), float(rows["expected"].fillna(0).sum())


def _describe(incident, group: pd.DataFrame, scores, usage, sessions, grain: str, thresholds: Thresholds) -> dict:
    org = group["org_id"].iloc[0]
    start, last = group["period"].min(), group["period"].max()
    # judge the kind on the org's totals if they moved, else on the user whose series moved most
    focus = None if (group["level"] == "org").any() else group.sort_values("score").iloc[-1]["user_id"]
    totals = {metric: _window_sum(scores, org, focus, metric, start, last) for metric in METRICS}
    excess = {metric: max(observed - expected, 0.0) for metric, (observed, expected) in totals.items()}
    fired = set(group["metric"])
    in_window = sessions[(sessions["org_id"] == org) & (sessions["period"] >= start) & (sessions["period"] <= last)]
    if focus:
        in_window = in_window[in_window["user_id"] == focus]
    top_session = float(in_window.groupby("session_id")["calls"].sum().max()) if len(in_window) else 0.0
    org_sessions = sessions[sessions["org_id"] == org].groupby("session_id")["calls"].sum()
    long_session = top_session >= thresholds.runaway_session_factor * float(org_sessions.median())
    kind = _kind(fired, excess, totals, top_session if long_session else 0.0, thresholds)
    metric = PRIMARY_METRIC[kind]
    observed, expected = totals[metric]
    primary = group[group["metric"] == metric]
    score = float((primary if len(primary) else group)["score"].max())
    drivers = usage_drivers(usage, org, metric, start, last + STEP[grain], grain)
    evidence = ", ".join(
        sorted({f"{row.level if row.level == 'org' else row.user_id} {row.metric}" for row in group.itertuples()})
    )
    return {
        "org_id": org,
        "kind": kind,
        "grain": grain,
        "start": start,
        "end": last + STEP[grain],
        "metric": metric,
        "observed": observed,
        "expected": expected,
        "score": score,
        **drivers,
        "evidence": evidence,
    }


def _kind(fired: set[str], excess: dict, totals: dict, top_session: float, thresholds: Thresholds) -> str:
    """Errors first, then one very long session carrying the surge, then a jump in cost per call, else a usage
    surge. `top_session` is the longest session's calls in the window, 0 when it is not a very long one."""
    if "error_calls" in fired and excess["error_calls"] >= thresholds.error_share * max(excess["calls"], 1.0):
        return "error_burst"
    if (
        fired & {"calls", "sessions", "cost_usd"}
        and excess["calls"] > 0
        and top_session >= thresholds.runaway_session_share * excess["calls"]
    ):
        return "runaway_agent"
    calls, expected_calls = totals["calls"]
    cost, expected_cost = totals["cost_usd"]
    normal_cost_per_call = expected_cost / expected_calls if expected_calls > 0 else np.nan
    cost_per_call = cost / calls if calls > 0 else np.nan
    if "cost_usd" in fired and not (cost_per_call < thresholds.cost_per_call_ratio * normal_cost_per_call):
        return "cost_spike"  # also when the normal cost per call is unknown (no expected calls)
    if fired & {"calls", "sessions"}:
        return "usage_surge"
    return "cost_spike" if "cost_usd" in fired else "error_burst"


def _detect_latency(connection, thresholds: Thresholds) -> tuple[pd.DataFrame, int]:
    """Flagged windows (one or two days) of one series that overlap or touch form one incident."""
    scores = latency_scores(connection, thresholds)
    flagged = scores[
        (scores["score"] >= thresholds.latency_score)
        & (scores["observed"] >= thresholds.latency_min_ratio * scores["expected"])
    ].copy()
    rows = []
    if len(flagged):
        flagged["last"] = flagged["period"] + pd.to_timedelta(flagged["days"], unit="D")  # the window's end
        flagged = flagged.sort_values(["org_id", "model", "source_system", "period"], ignore_index=True)
        series = flagged[["org_id", "model", "source_system"]].astype(str).agg("|".join, axis=1)
        reach = flagged.groupby(series)["last"].cummax().groupby(series).shift()
        new = (series != series.shift()) | (flagged["period"] > reach)
        for _, group in flagged.groupby(new.cumsum()):
            org, model, source = group["org_id"].iloc[0], group["model"].iloc[0], group["source_system"].iloc[0]
            start, end = group["period"].min(), group["last"].max()
            expected = float(group.sort_values("period")["expected"].iloc[0])  # the reference before the incident
            excess = latency_drivers(connection, org, model, source, start, end, expected)
            drivers = driver_columns(
                {
                    "project_id": excess[excess["dimension"] == "project_id"].set_index("member")["excess"],
                    "model": pd.Series({model: 1.0}),  # the series is one model's
                    "user_id": excess[excess["dimension"] == "user_id"].set_index("member")["excess"],
                }
            )
            rows.append(
                {
                    "org_id": org,
                    "kind": "latency_degradation",
                    "grain": "day",
                    "start": start,
                    "end": end,
                    "metric": "latency_ms",
                    "observed": float(window_latency(connection, org, model, source, start, end)),
                    "expected": expected,
                    "score": float(group["score"].max()),
                    **drivers,
                    "evidence": f"org {model} {source} latency_ms",
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS), int(scores["score"].notna().sum())


def _detect_sessions(connection, thresholds: Thresholds) -> pd.DataFrame:
    """One incident per session far dearer, per call and in all (a cost spike), or far larger than the org's sessions:
    an error burst when failed calls make at least `error_share` of its excess calls, else a runaway agent."""
    scores = session_scores(connection, thresholds)
    dearer = spike_scores(scores) >= thresholds.session_cost_spike_score
    larger = scores["size_score"] >= thresholds.session_size_score
    rows = []
    for session, spike in zip(scores[dearer | larger].itertuples(), dearer[dearer | larger], strict=True):
        if spike:
            kind, metric, observed, expected = "cost_spike", "cost_usd", session.cost_usd, session.usual_cost
            score = session.cost_spike_score
        elif session.error_calls >= thresholds.error_share * max(session.calls - session.usual_calls, 1.0):
            kind, metric, observed, expected = "error_burst", "error_calls", session.error_calls, 0.0
            score = session.size_score
        else:
            kind, metric, observed, expected = "runaway_agent", "calls", session.calls, session.usual_calls
            score = session.size_score
        rows.append(
            {
                "org_id": session.org_id,
                "kind": kind,
                "grain": "hour",
                "start": pd.Timestamp(session.first_call).floor("h"),
                "end": pd.Timestamp(session.last_call).floor("h") + STEP["hour"],
                "metric": metric,
                "observed": float(observed),
                "expected": float(expected),
                "score": float(score),
                **driver_columns(session_drivers(connection, session.org_id, session.session_id, metric)),
                "evidence": f"session {session.session_id} {metric}",
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
