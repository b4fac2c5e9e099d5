"""Capacity planning: per org and provider, the daily peak of calls per minute and tokens per minute, its trend, and
the day the trend reaches the configured rate limit (`Settings.provider_rate_limits`).

Method (small, explainable, measured): the daily peak series over the last `HISTORY_DAYS` days (a day without calls
has peak 0) gets a 90%-quantile linear trend (scikit-learn's `QuantileRegressor`): on 9 days in 10 the day's peak
stays under the line. The limit is "hit" on the first day the line reaches it ("exceeded" when an observed peak
already did); with no growth it is never hit. A backtest fits the same line without the last `BACKTEST_DAYS` days
and reports the share of those days whose peak stayed under it (0.9 when the trend holds).

Tokens are input + output + cache-write tokens (cache reads do not count against most providers' input limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

HISTORY_DAYS = 56
BACKTEST_DAYS = 14
HORIZON_DAYS = 365
QUANTILE = 0.9
MIN_DAYS = 14  # days of history needed for a trend
METRICS = {"calls_per_minute": "requests_per_minute", "tokens_per_minute": "tokens_per_minute"}

PEAKS_SQL = """
with per_minute as (
    select
        org_id,
        provider,
        date_trunc('minute', ts_utc) as minute,
        count(*) as calls,
        sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0) + coalesce(cache_write_tokens, 0)) as tokens
    from marts.fct_llm_calls
    where provider is not null
    group by all
)
select
    org_id,
    provider,
    cast(minute as date) as day,
    max(calls)::double as calls_per_minute,
    max(tokens)::double as tokens_per_minute
from per_minute
group by all
order by org_id, provider, day
"""


class CapacityDataError(ValueError):
    """Nothing to plan from; the message says what is missing."""


def minute_peaks(connection) -> pd.DataFrame:
    """Per org, provider and day: the busiest minute's calls and tokens (every org: the writer's view)."""
    return connection.execute(PEAKS_SQL).df()


def limit_for(limits: dict[str, dict[str, int]], org_id: str, provider: str, key: str) -> float | None:
    """The configured limit: "<org>/<provider>", then "<provider>", then "*"."""
    for name in (f"{org_id}/{provider}", provider, "*"):
        if name in limits and key in limits[name]:
            return float(limits[name][key])
    return None


@dataclass(frozen=True)
class Trend:
    intercept: float  # at day 0 of the history
    slope: float  # per day

    def at(self, day_index: np.ndarray | float) -> np.ndarray | float:
        return self.intercept + self.slope * np.asarray(day_index, dtype=float)


def quantile_trend(values: np.ndarray, quantile: float = QUANTILE) -> Trend:
    """The `quantile` linear trend of a daily series (day index 0..n-1)."""
    from sklearn.linear_model import QuantileRegressor

    days = np.arange(len(values), dtype=float).reshape(-1, 1)
    fitted = QuantileRegressor(quantile=quantile, alpha=0.0, solver="highs").fit(days, values)
    return Trend(float(fitted.intercept_), float(fitted.coef_[0]))


def _daily(series: pd.DataFrame, metric: str, start: date, end: date) -> np.ndarray:
    days = pd.date_range(start, end, freq="D").date
    return series.set_index("day")[metric].reindex(days, fill_value=0.0).to_numpy(dtype=float)


def plan(peaks: pd.DataFrame, limits: dict[str, dict[str, int]], as_of: date | None = None) -> pd.DataFrame:
    """One row per org, provider and metric: observed peak, trend, limit and the day the limit will be hit."""
    if peaks.empty:
        raise CapacityDataError("no model calls in the warehouse: ingest usage (`aioa ingest …`) and run `aioa run`")
    peaks = peaks.assign(day=pd.to_datetime(peaks["day"]).dt.date)
    as_of = as_of or max(peaks["day"])
    start = as_of - timedelta(days=HISTORY_DAYS - 1)
    rows = []
    for (org_id, provider), series in peaks.groupby(["org_id", "provider"], sort=True):
        for metric, limit_key in METRICS.items():
            values = _daily(series, metric, start, as_of)
            rows.append(_row(org_id, provider, metric, values, limit_for(limits, org_id, provider, limit_key), start))
    return pd.DataFrame(rows)


def _row(org_id: str, provider: str, metric: str, values: np.ndarray, limit: float | None, start: date) -> dict:
    as_of = start + timedelta(days=len(values) - 1)
    row = {
        "org_id": org_id,
        "provider": provider,
        "metric": metric,
        "as_of": as_of,
        "history_days": int((values > 0).sum()),
        "observed_peak": float(values.max()),
        "observed_peak_day": start + timedelta(days=int(values.argmax())),
        "recent_peak": float(values[-BACKTEST_DAYS:].max()),
        "limit": limit,
        "trend_p90_today": None,
        "trend_slope_per_day": None,
        "forecast_p90_in_30_days": None,
        "limit_hit_day": None,
        "days_to_limit": None,
        "status": "no_limit" if limit is None else "insufficient_history",
        "backtest_share_under_p90": None,
    }
    if (values > 0).sum() < MIN_DAYS:
        return row
    trend = quantile_trend(values)
    today = len(values) - 1
    row |= {
        "trend_p90_today": float(trend.at(today)),
        "trend_slope_per_day": trend.slope,
        "forecast_p90_in_30_days": float(trend.at(today + 30)),
    }
    if len(values) > BACKTEST_DAYS + MIN_DAYS:
        past = quantile_trend(values[:-BACKTEST_DAYS])
        held_out = np.arange(len(values) - BACKTEST_DAYS, len(values))
        row["backtest_share_under_p90"] = float(np.mean(values[held_out] <= past.at(held_out)))
    if limit is None:
        return row
    exceeded = np.flatnonzero(values >= limit)
    if len(exceeded):
        hit = start + timedelta(days=int(exceeded[0]))
        return row | {"limit_hit_day": hit, "days_to_limit": (hit - as_of).days, "status": "exceeded"}
    if trend.at(today) >= limit:
        return row | {"limit_hit_day": as_of, "days_to_limit": 0, "status": "at_limit"}
    if trend.slope <= 0:
        return row | {"status": "no_growth"}
    days = int(np.ceil((limit - trend.at(today)) / trend.slope))
    if days > HORIZON_DAYS:
        return row | {"status": f"not_within_{HORIZON_DAYS}_days"}
    return row | {"limit_hit_day": as_of + timedelta(days=days), "days_to_limit": days, "status": "will_hit"}


def capacity_forecast(settings, *, published: bool = True) -> pd.DataFrame:
    """The plan from the warehouse's calls (inside a pipeline run, `published=False`, from the run's marts)."""
    from aioa.warehouse.snapshots import open_marts

    connection, _ = open_marts(settings, published=published)
    with connection:
        peaks = minute_peaks(connection)
    return plan(peaks, settings.provider_rate_limits)


def store(settings, frame: pd.DataFrame, *, publish: bool = True) -> None:
    from aioa.warehouse.ml_tables import write_ml_tables

    write_ml_tables(settings, {"capacity_forecast": frame}, publish=publish)
