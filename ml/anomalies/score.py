"""Robust seasonal scores: how far a period sits above the median of the same season slot in its recent past.

A period is compared with the same weekday (daily grain) or the same hour of a weekday / weekend day (hourly grain)
over a trailing window. score = (observed - median) / scale, with scale the largest of the window's IQR/1.349, the
window's mean and the series' typical non-zero value: usage arrives in whole sessions, so a "unit" of activity
is the smallest excess worth a point of score. Only upward deviations matter here (spikes, surges, bursts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.anomalies.config import DEFAULT_THRESHOLDS, Thresholds
from ml.anomalies.data import AnomalyDataError

STEP = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1)}
FREQ = {"hour": "h", "day": "D"}


def season_slot(periods: pd.Series, grain: str) -> pd.Series:
    if grain == "day":
        return periods.dt.weekday
    return (periods.dt.weekday >= 5).astype(int) * 100 + periods.dt.hour


def complete_grid(
    frame: pd.DataFrame, keys: list[str], metrics: list[str], grain: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """One row per series and period from start to end; periods without activity are zeros."""
    periods = pd.DataFrame({"period": pd.date_range(start, end, freq=FREQ[grain])})
    grid = frame[keys].drop_duplicates().merge(periods, how="cross")
    totals = frame.groupby(keys + ["period"], as_index=False)[metrics].sum()
    grid = grid.merge(totals, on=keys + ["period"], how="left")
    grid[metrics] = grid[metrics].fillna(0.0)
    return grid.sort_values(keys + ["period"], ignore_index=True)


def _trailing(values: pd.Series, groups: list[pd.Series], window: int, min_periods: int, stat: str | float):
    """A statistic of the previous `window` values of each group (the current value excluded)."""
    previous = values.groupby(groups, sort=False).shift(1)
    rolling = previous.groupby(groups, sort=False).rolling(window, min_periods=min_periods)
    result = rolling.quantile(stat) if isinstance(stat, float) else getattr(rolling, stat)()
    return result.reset_index(level=list(range(len(groups))), drop=True).reindex(values.index)


def seasonal_scores(
    grid: pd.DataFrame, keys: list[str], metric: str, grain: str, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> pd.DataFrame:
    """Expected value, scale and score of `metric` for every series and period of a complete grid.

    Rows without enough same-slot history, and series that never move (constant), get a NaN score.
    """
    window = thresholds.lookback_day if grain == "day" else thresholds.lookback_hour
    quantile = thresholds.unit_quantile_day if grain == "day" else thresholds.unit_quantile_hour
    if metric == "cost_usd":
        quantile = max(quantile, thresholds.unit_quantile_cost)
    values = grid[metric].astype(float)
    groups = [grid[key] for key in keys] + [season_slot(grid["period"], grain)]
    median = _trailing(values, groups, window, thresholds.min_history, 0.5)
    spread = (
        _trailing(values, groups, window, thresholds.min_history, 0.75)
        - _trailing(values, groups, window, thresholds.min_history, 0.25)
    ) / 1.349
    mean = _trailing(values, groups, window, thresholds.min_history, "mean")
    nonzero = grid[values > 0]
    unit = nonzero.groupby(keys)[metric].quantile(quantile).rename("unit")
    moving = grid.groupby(keys)[metric].agg(lambda series: series.nunique() > 1).rename("moving")
    per_series = grid[keys].join(unit, on=keys).join(moving, on=keys)
    scale = np.fmax(np.fmax(spread, mean), per_series["unit"].to_numpy())
    score = (values - median) / scale
    score[~per_series["moving"].to_numpy(dtype=bool)] = np.nan  # a constant series has nothing to deviate from
    out = grid[keys + ["period"]].copy()
    out["metric"], out["observed"], out["expected"], out["scale"], out["score"] = metric, values, median, scale, score
    return out


def score_series(values: pd.Series, grain: str = "day", thresholds: Thresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Score one series (a DatetimeIndex at `grain`): the building block, usable on any metric.

    Raises AnomalyDataError with a clear message when the series is too short or constant.
    """
    if grain not in STEP:
        raise AnomalyDataError(f"grain must be 'hour' or 'day', not {grain!r}")
    series = values.dropna().astype(float)
    slots = 7 if grain == "day" else 48
    needed = slots * (thresholds.min_history + 1)
    unit = "days" if grain == "day" else "hours"
    if len(series) < needed:
        raise AnomalyDataError(
            f"too little history: {len(series)} {unit}; need at least {needed} "
            f"({thresholds.min_history} earlier observations of each season slot)"
        )
    if series.nunique() <= 1:
        raise AnomalyDataError(f"constant series (every value is {series.iloc[0]:g}): nothing to score against")
    grid = pd.DataFrame({"series": "series", "period": pd.DatetimeIndex(series.index), "value": series.to_numpy()})
    scored = seasonal_scores(grid, ["series"], "value", grain, thresholds).drop(columns="series")
    scored["anomalous"] = scored["score"] >= thresholds.score
    return scored
