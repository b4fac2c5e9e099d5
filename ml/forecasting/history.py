"""The one cleaned history every forecaster gets (Prophet and the baselines alike): spikes and public holidays are
replaced by the usual level for their weekday, and one holiday factor says how much a public holiday keeps of that
level. The rule reads the series itself, never the generator's labels.

A day's usual level is the median of the same weekday within four weeks either side (holidays left out); a day is a
spike when its relative excess over that level, (day − usual) / usual, lies more than `SPIKE_FENCE` robust standard
deviations (1.4826 · MAD of the relative excesses) above zero (relative, because a Sunday's noise is smaller than
a Tuesday's). Only upward spikes are removed: a quiet day is real demand, a runaway agent is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SPIKE_FENCE = 5.0
NEIGHBOUR_WEEKS = 4
HOLIDAY_COUNTRY = "US"


def public_holidays(days: pd.Series | pd.DatetimeIndex, country: str | None = HOLIDAY_COUNTRY) -> set[pd.Timestamp]:
    """The public holidays of `country` (the `holidays` package Prophet uses) between the first and last day."""
    if not country or len(days) == 0:
        return set()
    import holidays

    days = pd.to_datetime(pd.Series(days))
    years = range(days.min().year, days.max().year + 1)
    return {pd.Timestamp(day) for day in holidays.country_holidays(country, years=years)}


@dataclass(frozen=True)
class CleanHistory:
    """`frame`: day, observed (what happened), y (the regular-day level: spikes and holidays replaced), holiday,
    spike. `holiday_factor`: a public holiday's usage over its weekday's usual level, the median over past holidays
    (1.0 when the history has none); every forecaster's holiday days are scaled by it (`on_holidays`)."""

    frame: pd.DataFrame
    holiday_factor: float
    country: str | None = HOLIDAY_COUNTRY

    @property
    def last_day(self) -> pd.Timestamp:
        return pd.Timestamp(self.frame["day"].iloc[-1])

    @property
    def y(self) -> np.ndarray:
        return self.frame["y"].to_numpy(dtype=float)

    def future_days(self, horizon: int) -> pd.DatetimeIndex:
        return pd.date_range(self.last_day + pd.Timedelta(days=1), periods=horizon)


def usual_level(values: pd.Series, days: pd.Series, excluded: np.ndarray) -> np.ndarray:
    """Per day, the median of the same weekday within `NEIGHBOUR_WEEKS` weeks either side, itself and `excluded`
    days left out (falls back to the weekday's median over the whole series, then to the overall median)."""
    values = values.to_numpy(dtype=float)
    weekdays = pd.to_datetime(days).dt.weekday.to_numpy()
    usable = ~excluded
    level = np.empty(len(values))
    for index in range(len(values)):
        low, high = max(0, index - 7 * NEIGHBOUR_WEEKS), min(len(values), index + 7 * NEIGHBOUR_WEEKS + 1)
        window = np.arange(low, high)
        peers = window[(weekdays[window] == weekdays[index]) & usable[window] & (window != index)]
        if len(peers) == 0:
            peers = np.flatnonzero((weekdays == weekdays[index]) & usable)
        level[index] = np.median(values[peers]) if len(peers) else np.median(values[usable] if usable.any() else values)
    return level


def clean_history(history: pd.DataFrame, country: str | None = HOLIDAY_COUNTRY) -> CleanHistory:
    """`history`: day, y (one row per day, zeros included) → the cleaned history every model is fitted on."""
    days = pd.to_datetime(history["day"]).reset_index(drop=True)
    observed = history["y"].astype(float).reset_index(drop=True)
    holiday = days.isin(public_holidays(days, country)).to_numpy()
    level = usual_level(observed, days, excluded=holiday)
    positive = observed[observed > 0]
    floor = float(positive.median()) if len(positive) else 1e-9  # quiet weekdays: excess over a typical active day
    residual = (observed.to_numpy() - level) / np.maximum(level, floor)
    regular = residual[~holiday & (level >= floor / 2)]  # busy days set the noise; quiet days would shrink it
    spread = 1.4826 * np.median(np.abs(regular - np.median(regular))) if len(regular) else 0.0
    spike = ~holiday & (residual > SPIKE_FENCE * spread) & (spread > 0)
    if spike.any():  # a spike must not set its neighbours' usual level either
        level = usual_level(observed, days, excluded=holiday | spike)
    y = np.where(holiday | spike, level, observed.to_numpy())
    ratios = observed.to_numpy()[holiday & (level > 0)] / level[holiday & (level > 0)]
    factor = float(np.clip(np.median(ratios), 0.0, 2.0)) if len(ratios) else 1.0
    frame = pd.DataFrame({"day": days, "observed": observed, "y": y, "holiday": holiday, "spike": spike})
    return CleanHistory(frame, factor, country)


def on_holidays(prediction: pd.DataFrame, history: CleanHistory) -> pd.DataFrame:
    """The forecast (day, forecast, lower, upper) with public-holiday days scaled by the history's holiday factor."""
    holidays = public_holidays(prediction["day"], history.country)
    factor = np.where(pd.to_datetime(prediction["day"]).isin(holidays), history.holiday_factor, 1.0)
    scaled = prediction.copy()
    for column in ("forecast", "lower", "upper"):
        scaled[column] = scaled[column].to_numpy(dtype=float) * factor
    return scaled
