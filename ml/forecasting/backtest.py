"""Rolling-origin backtests: refit at each origin, forecast the next days, score against what happened.

MAPE is the mean of |actual − forecast| / actual over days with actual > 0 only (a zero day has no percentage
error); sMAPE is the mean of 2·|actual − forecast| / (|actual| + |forecast|) over all days, 0 when both are 0.
Both are fractions (0.25 = 25%). The seasonal-naive baseline repeats the last observed week.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Forecaster = Callable[[pd.DataFrame, int], np.ndarray]


def seasonal_naive(history: pd.DataFrame, horizon: int) -> np.ndarray:
    """Each day gets the value of the same weekday one week earlier (the last week, repeated)."""
    last_week = history["y"].to_numpy(dtype=float)[-7:]
    return np.resize(last_week, horizon)


def mape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    positive = actual > 0
    if not positive.any():
        return None
    return float(np.mean(np.abs(actual[positive] - forecast[positive]) / actual[positive]))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(actual - forecast), denominator, out=np.zeros_like(actual), where=denominator > 0)
    return float(np.mean(ratio))


def origins(days: pd.Series, count: int, horizon: int, min_history: int) -> list[pd.Timestamp]:
    """Up to `count` origins, `horizon` days apart, ending `horizon` days before the last day; each leaves at least
    `min_history` days to train on. Oldest first."""
    days = pd.to_datetime(days)
    first, last = days.min(), days.max()
    chosen = [last - pd.Timedelta(days=horizon * step) for step in range(1, count + 1)]
    return sorted(origin for origin in chosen if (origin - first).days + 1 >= min_history)


def rolling_origin(
    history: pd.DataFrame, forecasters: dict[str, Forecaster], cut_points: list[pd.Timestamp], horizon: int
) -> pd.DataFrame:
    """One row per forecaster, origin and forecast day: origin, day, actual, forecast, forecaster."""
    rows = []
    for origin in cut_points:
        train = history[history["day"] <= origin]
        test = history[(history["day"] > origin) & (history["day"] <= origin + pd.Timedelta(days=horizon))]
        for name, forecaster in forecasters.items():
            predicted = forecaster(train, len(test))
            rows.append(
                pd.DataFrame(
                    {
                        "forecaster": name,
                        "origin": origin,
                        "day": test["day"].to_numpy(),
                        "actual": test["y"].to_numpy(dtype=float),
                        "forecast": predicted,
                    }
                )
            )
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["forecaster", "origin", "day", "actual", "forecast"])
    )


def score(predictions: pd.DataFrame) -> pd.DataFrame:
    """MAPE, sMAPE and the day counts per forecaster, pooled over all origins."""
    rows = []
    for name, group in predictions.groupby("forecaster", sort=False):
        rows.append(
            {
                "forecaster": name,
                "origins": group["origin"].nunique(),
                "days": len(group),
                "mape_days": int((group["actual"] > 0).sum()),
                "mape": mape(group["actual"], group["forecast"]),
                "smape": smape(group["actual"], group["forecast"]),
            }
        )
    return pd.DataFrame(rows)
