"""Rolling-origin backtests: at each origin the training days are cleaned once (`clean_history`), every forecaster
gets that same cleaned history and the same holiday factor, and is scored on the raw days that followed (spikes and
holidays included: that is what happened). Origins are spaced evenly back from the last day; none is moved away
from a spike, for any model. Metrics: `ml.forecasting.metrics`.

The combination: at every origin the mean of the members' (Prophet, ETS, weekday median) point forecasts, computed
from their predictions at that origin (no extra fit). Its 80% interval is conformal: the 10% and 90% quantiles of
its own errors at earlier origins only (the calibration origins before the reported ones, then each reported origin
that has ended), scaled by each origin's MASE scale and bucketed by week ahead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ml.forecasting import metrics
from ml.forecasting.baselines import INTERVAL, Forecaster
from ml.forecasting.history import HOLIDAY_COUNTRY, CleanHistory, clean_history, on_holidays

# Called with (origin, cleaned history) before the forecasters run: lets a test see what every model was given.
Observer = Callable[[pd.Timestamp, CleanHistory], None]
PREDICTION_COLUMNS = ["forecaster", "origin", "day", "actual", "forecast", "lower", "upper", "scale", "calibration"]
COMBINATION = "combination"
MEMBERS = ("prophet", "ets", "weekday_median")
MIN_RESIDUALS = 10  # fewer errors than this in a week-ahead bucket: use the errors of every bucket
MONTH_COLUMNS = ["forecaster", "origin", "month", "actual_total", "projected_total"]


def origins(days: pd.Series, count: int, horizon: int, min_history: int) -> list[pd.Timestamp]:
    """Up to `count` origins, `horizon` days apart, ending `horizon` days before the last day; each leaves at least
    `min_history` days to train on. Oldest first."""
    days = pd.to_datetime(days)
    first, last = days.min(), days.max()
    chosen = [last - pd.Timedelta(days=horizon * step) for step in range(1, count + 1)]
    return sorted(origin for origin in chosen if (origin - first).days + 1 >= min_history)


def month_origins(days: pd.Series, min_history: int, day_of_month: int = 14) -> list[pd.Timestamp]:
    """The `day_of_month`-th of every calendar month wholly inside the data with `min_history` days before it."""
    days = pd.to_datetime(days)
    first, last = days.min(), days.max()
    months = pd.date_range(first + pd.offsets.MonthBegin(0), last, freq="MS")
    return [
        month + pd.Timedelta(days=day_of_month - 1)
        for month in months
        if month >= first
        and month + pd.offsets.MonthEnd(0) <= last
        and (month + pd.Timedelta(days=day_of_month - 1) - first).days + 1 >= min_history
    ]


def predict(forecaster: Forecaster, history: CleanHistory, horizon: int) -> pd.DataFrame:
    """A forecaster's prediction for the `horizon` days after the history; a bare array is a point forecast."""
    answer = forecaster(history, horizon)
    if not isinstance(answer, pd.DataFrame):
        point = np.asarray(answer, dtype=float)
        answer = pd.DataFrame({"day": history.future_days(horizon), "forecast": point, "lower": point, "upper": point})
    return on_holidays(answer.reset_index(drop=True), history)


def combine(predictions: dict[str, pd.DataFrame], members: tuple[str, ...] = MEMBERS) -> pd.DataFrame | None:
    """The mean of the members' forecasts (and, as placeholders, of their bounds); None unless every member ran."""
    if not all(name in predictions for name in members):
        return None
    combined = predictions[members[0]][["day"]].copy()
    for column in ("forecast", "lower", "upper"):
        combined[column] = np.mean([predictions[name][column].to_numpy(dtype=float) for name in members], axis=0)
    return combined


def residual_quantiles(residuals: pd.DataFrame, horizon: int) -> np.ndarray | None:
    """Per day ahead (1..horizon): the 10% and 90% quantiles of past scaled errors (actual − forecast) / scale in
    its week-ahead bucket (every bucket pooled when that one has fewer than MIN_RESIDUALS). Rows: ahead, error.
    None when there are no past errors."""
    residuals = residuals[np.isfinite(residuals["error"].to_numpy(dtype=float))]
    if residuals.empty:
        return None
    tail = (1 - INTERVAL) / 2
    buckets = (residuals["ahead"].to_numpy() - 1) // 7
    errors = residuals["error"].to_numpy(dtype=float)
    bounds = np.empty((horizon, 2))
    for ahead in range(1, horizon + 1):
        peers = errors[buckets == (ahead - 1) // 7]
        peers = peers if len(peers) >= MIN_RESIDUALS else errors
        bounds[ahead - 1] = np.quantile(peers, tail), np.quantile(peers, 1 - tail)
    return bounds


def conformal(predicted: pd.DataFrame, quantiles: np.ndarray | None, scale: float | None) -> pd.DataFrame:
    """`predicted` with its interval replaced by point + error quantiles × scale (kept when there are none)."""
    if quantiles is None or not scale:
        return predicted
    point = predicted["forecast"].to_numpy(dtype=float)
    steps = np.minimum(np.arange(len(point)), len(quantiles) - 1)
    return predicted.assign(
        lower=np.clip(np.minimum(point + quantiles[steps, 0] * scale, point), 0, None),
        upper=np.clip(np.maximum(point + quantiles[steps, 1] * scale, point), 0, None),
    )


def forecasts_at(
    history: pd.DataFrame,
    origin: pd.Timestamp,
    horizon: int,
    forecasters: dict[str, Forecaster],
    country: str | None = HOLIDAY_COUNTRY,
    observe: Observer | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """(the raw held-out days, each forecaster's prediction for them), every forecaster fed one cleaned history."""
    train = history[history["day"] <= origin]
    test = history[(history["day"] > origin) & (history["day"] <= origin + pd.Timedelta(days=horizon))]
    cleaned = clean_history(train, country)
    if observe:
        observe(origin, cleaned)
    return test, {name: predict(forecaster, cleaned, len(test)) for name, forecaster in forecasters.items()}


def rolling_origin(
    history: pd.DataFrame,
    forecasters: dict[str, Forecaster],
    cut_points: list[pd.Timestamp],
    horizon: int,
    country: str | None = HOLIDAY_COUNTRY,
    observe: Observer | None = None,
    calibration_points: list[pd.Timestamp] = (),
) -> pd.DataFrame:
    """One row per forecaster, origin and held-out day (PREDICTION_COLUMNS); `scale` is MASE's denominator. When
    every member of the combination runs, it is added (conformal interval from the errors of the origins before);
    `calibration_points` (earlier than the cut points) only calibrate it: their rows have calibration=True and
    `score` leaves them out."""
    rows = []
    residuals = pd.DataFrame(columns=["end", "ahead", "error"])
    reported = set(cut_points)
    for origin in sorted({*calibration_points, *cut_points}):
        test, predictions = forecasts_at(history, origin, horizon, forecasters, country, observe)
        scale = metrics.seasonal_naive_scale(history.loc[history["day"] <= origin, "y"].to_numpy(dtype=float))
        combined = combine(predictions)
        if combined is not None:
            ended = residuals[residuals["end"] <= origin]  # only errors on days up to the origin
            predictions[COMBINATION] = conformal(combined, residual_quantiles(ended, horizon), scale)
            if scale:
                error = (test["y"].to_numpy(dtype=float) - combined["forecast"].to_numpy(dtype=float)) / scale
                past = pd.DataFrame({"end": test["day"].max(), "ahead": np.arange(1, len(test) + 1), "error": error})
                residuals = past if residuals.empty else pd.concat([residuals, past], ignore_index=True)
        for name, predicted in predictions.items():
            rows.append(
                predicted[["forecast", "lower", "upper"]].assign(
                    forecaster=name,
                    origin=origin,
                    day=test["day"].to_numpy(),
                    actual=test["y"].to_numpy(dtype=float),
                    scale=np.nan if scale is None else scale,
                    calibration=origin not in reported,
                )
            )
    return pd.concat(rows, ignore_index=True)[PREDICTION_COLUMNS] if rows else pd.DataFrame(columns=PREDICTION_COLUMNS)


def month_totals(
    history: pd.DataFrame,
    forecasters: dict[str, Forecaster],
    cut_points: list[pd.Timestamp],
    country: str | None = HOLIDAY_COUNTRY,
) -> pd.DataFrame:
    """Per forecaster and mid-month origin: the month's actual total and month-to-date + the forecast rest."""
    rows = []
    for origin in cut_points:
        month_start, month_end = origin.replace(day=1), origin + pd.offsets.MonthEnd(0)
        in_month = history[(history["day"] >= month_start) & (history["day"] <= month_end)]
        to_date = float(in_month.loc[in_month["day"] <= origin, "y"].sum())
        _, predictions = forecasts_at(history, origin, (month_end - origin).days, forecasters, country)
        combined = combine(predictions)
        if combined is not None:
            predictions[COMBINATION] = combined
        for name, predicted in predictions.items():
            rows.append(
                {
                    "forecaster": name,
                    "origin": origin,
                    "month": month_start,
                    "actual_total": float(in_month["y"].sum()),
                    "projected_total": to_date + float(predicted["forecast"].sum()),
                }
            )
    return pd.DataFrame(rows, columns=MONTH_COLUMNS)


def score(predictions: pd.DataFrame, months: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per forecaster, pooled over all origins: origins, days, WAPE, MASE, 80% coverage, month-total error (the mean
    over the mid-month origins) and how many months it was measured on."""
    months = pd.DataFrame(columns=MONTH_COLUMNS) if months is None else months
    rows = []
    if "calibration" in predictions:
        predictions = predictions[~predictions["calibration"].astype(bool)]
    for name, group in predictions.groupby("forecaster", sort=False):
        scaled = metrics.scaled_errors(group["actual"], group["forecast"], 1.0) / group["scale"].to_numpy(dtype=float)
        month_rows = months[months["forecaster"] == name]
        month_errors = [
            error
            for error in (
                metrics.month_total_error(row.actual_total, row.projected_total) for row in month_rows.itertuples()
            )
            if error is not None
        ]
        rows.append(
            {
                "forecaster": name,
                "origins": group["origin"].nunique(),
                "days": len(group),
                "wape": metrics.wape(group["actual"], group["forecast"]),
                "mase": float(np.mean(scaled[np.isfinite(scaled)])) if np.isfinite(scaled).any() else None,
                "coverage_80": metrics.coverage(group["actual"], group["lower"], group["upper"]),
                "month_total_error": float(np.mean(month_errors)) if month_errors else None,
                "months": len(month_errors),
            }
        )
    return pd.DataFrame(rows)
