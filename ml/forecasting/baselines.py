"""The baselines Prophet must beat, each fitted on the same cleaned history and returning the same shape: day,
forecast, lower, upper (an 80% interval), clipped at zero.

- seasonal-naive: the last week repeated; interval from its in-sample errors y[t] − y[t−7] (10% and 90% quantiles),
  widened by √k for a day k weeks ahead (a random walk per weekday).
- weekday median: the median of the last four same weekdays; interval from its in-sample errors.
- ETS: statsmodels' additive-error, damped additive trend, additive weekly seasonality, with its analytic interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from ml.forecasting.history import CleanHistory

INTERVAL = 0.8
Forecaster = Callable[[CleanHistory, int], pd.DataFrame]


def prediction(history: CleanHistory, point, lower=None, upper=None) -> pd.DataFrame:
    """A forecaster's answer for the days after the history, clipped at zero (spend and tokens are never negative)."""
    point = np.asarray(point, dtype=float)
    lower = point if lower is None else np.asarray(lower, dtype=float)
    upper = point if upper is None else np.asarray(upper, dtype=float)
    return pd.DataFrame(
        {
            "day": history.future_days(len(point)),
            "forecast": np.clip(point, 0, None),
            "lower": np.clip(np.minimum(lower, point), 0, None),
            "upper": np.clip(np.maximum(upper, point), 0, None),
        }
    )


def _error_quantiles(errors: np.ndarray) -> tuple[float, float]:
    errors = errors[np.isfinite(errors)]
    if len(errors) == 0:
        return 0.0, 0.0
    tail = (1 - INTERVAL) / 2
    return float(np.quantile(errors, tail)), float(np.quantile(errors, 1 - tail))


def seasonal_naive(history: CleanHistory, horizon: int) -> pd.DataFrame:
    """Each day gets the same weekday of the history's last week."""
    y = history.y
    point = np.resize(y[-7:], horizon)
    low, high = _error_quantiles(y[7:] - y[:-7])
    weeks_ahead = np.sqrt(np.arange(horizon) // 7 + 1)
    return prediction(history, point, point + low * weeks_ahead, point + high * weeks_ahead)


def _median_of_last_four(y: np.ndarray, end: int) -> float:
    """The median of the values 7, 14, 21 and 28 days before index `end` (those that exist)."""
    peers = [y[end - 7 * weeks] for weeks in range(1, 5) if end - 7 * weeks >= 0]
    return float(np.median(peers)) if peers else float("nan")


def weekday_median(history: CleanHistory, horizon: int) -> pd.DataFrame:
    """Each day gets the median of the last four same weekdays in the history."""
    y = history.y
    last_week = [_median_of_last_four(y, len(y) + offset) for offset in range(7)]
    point = np.resize(last_week, horizon)
    errors = np.array([y[index] - _median_of_last_four(y, index) for index in range(28, len(y))])
    low, high = _error_quantiles(errors)
    return prediction(history, point, point + low, point + high)


def ets(history: CleanHistory, horizon: int) -> pd.DataFrame:
    """statsmodels ETS(A, Ad, A) with a weekly season and its analytic 80% interval."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series(history.y, index=pd.DatetimeIndex(history.frame["day"], freq="D"))
    with warnings.catch_warnings():  # convergence chatter on short or flat series; the backtest judges the result
        warnings.simplefilter("ignore")
        model = ETSModel(
            y,
            error="add",
            trend="add",
            damped_trend=True,
            seasonal="add",
            seasonal_periods=7,
            initialization_method="heuristic",  # initial states from the first weeks: 4x faster than estimating them
        )
        fitted = model.fit(disp=False)
        frame = fitted.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=1 - INTERVAL)
    return prediction(history, frame["mean"], frame["pi_lower"], frame["pi_upper"])


BASELINES: dict[str, Forecaster] = {
    "seasonal_naive": seasonal_naive,
    "weekday_median": weekday_median,
    "ets": ets,
}
LABELS = {
    "prophet": "Prophet",
    "seasonal_naive": "Seasonal naive (last week)",
    "weekday_median": "Median of last 4 same weekdays",
    "ets": "ETS (damped trend, weekly)",
    "combination": "Mean of Prophet, ETS and weekday median",
}
