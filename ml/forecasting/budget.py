"""Month-end spend projection: month-to-date actual plus the forecast for the rest of the data's last month, and
the probability of ending above the budget from Prophet's predictive samples."""

from __future__ import annotations

import numpy as np
import pandas as pd


def remaining_days(last_day: pd.Timestamp) -> pd.DatetimeIndex:
    """The days after `last_day` up to the end of its month (empty on the month's last day)."""
    month_end = last_day + pd.offsets.MonthEnd(0)
    return pd.date_range(last_day + pd.Timedelta(days=1), month_end)


def month_end_projection(
    history: pd.DataFrame, remaining_forecast: np.ndarray, samples: np.ndarray, budget: float | None
) -> dict:
    """`history`: day, y (actual daily spend); `remaining_forecast`: point forecasts for `remaining_days`;
    `samples`: predictive samples (remaining days × samples). P(exceed) is None without a budget, not 0."""
    last_day = pd.Timestamp(history["day"].max())
    month_start = last_day.replace(day=1)
    month_to_date = float(history.loc[history["day"] >= month_start, "y"].sum())
    forecast_rest = float(np.sum(remaining_forecast))
    totals = month_to_date + (samples.sum(axis=0) if samples.size else np.zeros(1))
    has_budget = budget is not None and not pd.isna(budget) and budget > 0
    return {
        "month": month_start.date(),
        "last_actual_day": last_day.date(),
        "remaining_days": len(remaining_days(last_day)),
        "month_to_date_usd": month_to_date,
        "forecast_remaining_usd": forecast_rest,
        "projected_month_end_usd": month_to_date + forecast_rest,
        "p10_usd": float(np.quantile(totals, 0.1)),
        "p90_usd": float(np.quantile(totals, 0.9)),
        "budget_usd": float(budget) if has_budget else None,
        "share_of_budget": (month_to_date + forecast_rest) / budget if has_budget else None,
        "prob_exceed_budget": float(np.mean(totals > budget)) if has_budget else None,
    }
