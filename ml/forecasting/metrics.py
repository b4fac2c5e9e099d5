"""Forecast accuracy, scored on held-out days only.

- WAPE: Σ|actual − forecast| / Σ|actual| (None when nothing happened).
- MASE: |actual − forecast| divided by the in-sample MAE of the weekly seasonal-naive forecast on the raw training
  history before the origin (mean |y[t] − y[t−7]|), averaged over the held-out days. Below 1 = better than
  repeating last week was inside the training data.
- Coverage: the share of held-out days whose actual lies within the 80% interval [lower, upper].
- Month-total error: |projected − actual| / actual for a calendar month's total, where projected = the month's
  actual days up to the origin + the forecast for its remaining days (what the budget page shows mid-month).
"""

from __future__ import annotations

import numpy as np


def wape(actual, forecast) -> float | None:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    total = np.abs(actual).sum()
    return float(np.abs(actual - forecast).sum() / total) if total > 0 else None


def seasonal_naive_scale(training: np.ndarray, season: int = 7) -> float | None:
    """The in-sample MAE of the seasonal-naive forecast, MASE's denominator (None if it is zero or undefined)."""
    training = np.asarray(training, dtype=float)
    if len(training) <= season:
        return None
    scale = float(np.mean(np.abs(training[season:] - training[:-season])))
    return scale if scale > 0 else None


def scaled_errors(actual, forecast, scale: float | None) -> np.ndarray:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    return np.abs(actual - forecast) / scale if scale else np.full(len(actual), np.nan)


def coverage(actual, lower, upper) -> float | None:
    actual = np.asarray(actual, dtype=float)
    if len(actual) == 0:
        return None
    return float(np.mean((actual >= np.asarray(lower, dtype=float)) & (actual <= np.asarray(upper, dtype=float))))


def month_total_error(actual_total: float, projected_total: float) -> float | None:
    return abs(projected_total - actual_total) / actual_total if actual_total > 0 else None
