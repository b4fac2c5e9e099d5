"""Prophet for one daily series: weekly seasonality and US public holidays (the generator's quiet days), 80%
intervals, non-negative forecasts; imported lazily because Prophet takes seconds to import."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ProphetConfig:
    seasonality_mode: str = "multiplicative"  # usage = weekday factor × growing trend
    holidays_country: str | None = "US"
    changepoint_prior_scale: float = 0.05
    interval_width: float = 0.8
    uncertainty_samples: int = 300  # enough for stable 10%/90% quantiles, few enough to stay fast

    def params(self) -> dict:
        return asdict(self)


def _quiet() -> None:
    # cmdstanpy logs every optimiser start/stop at INFO; prophet logs its seasonality choices.
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("cmdstanpy").disabled = True


@dataclass
class FittedProphet:
    model: object
    last_day: pd.Timestamp

    def future(self, horizon: int) -> pd.DataFrame:
        return pd.DataFrame({"ds": pd.date_range(self.last_day + pd.Timedelta(days=1), periods=horizon)})

    def predict(self, days: pd.DataFrame) -> pd.DataFrame:
        """day, forecast, lower, upper (clipped at zero: spend and tokens are never negative)."""
        predicted = self.model.predict(days)
        point = predicted["yhat"]  # without uncertainty samples (backtests) there are no bounds: use the point
        return pd.DataFrame(
            {
                "day": predicted["ds"],
                "forecast": point.clip(lower=0),
                "lower": predicted.get("yhat_lower", point).clip(lower=0),
                "upper": predicted.get("yhat_upper", point).clip(lower=0),
            }
        )

    def samples(self, days: pd.DataFrame) -> np.ndarray:
        """Predictive samples (days × samples), trend and noise uncertainty included, clipped at zero."""
        return np.clip(self.model.predictive_samples(days)["yhat"], 0, None)


def without_outliers(values: pd.Series, fence: float = 5.0) -> pd.Series:
    """Days far above the usual level (beyond Q3 + fence·IQR, e.g. a runaway agent) become missing, which Prophet
    skips: one 50× spike would otherwise drag the trend and widen every interval."""
    values = values.astype(float)
    low, high = values.quantile([0.25, 0.75])
    limit = high + fence * (high - low)
    return values.where((values <= limit) | (high <= low))


def fit(history: pd.DataFrame, config: ProphetConfig = ProphetConfig()) -> FittedProphet:
    """`history`: day, y (one row per day, zeros included); extreme outliers are left out of the fit."""
    _quiet()
    from prophet import Prophet

    model = Prophet(
        growth="linear",
        weekly_seasonality=True,
        yearly_seasonality=False,
        daily_seasonality=False,
        seasonality_mode=config.seasonality_mode,
        changepoint_prior_scale=config.changepoint_prior_scale,
        interval_width=config.interval_width,
        uncertainty_samples=config.uncertainty_samples,
    )
    if config.holidays_country:
        model.add_country_holidays(country_name=config.holidays_country)
    model.fit(pd.DataFrame({"ds": pd.to_datetime(history["day"]), "y": without_outliers(history["y"])}))
    return FittedProphet(model, pd.Timestamp(history["day"].max()))


def prophet_forecaster(config: ProphetConfig = ProphetConfig()):
    """A backtest forecaster: history (day, y) and a horizon in, `horizon` point forecasts out."""

    def forecast(history: pd.DataFrame, horizon: int) -> np.ndarray:
        fitted = fit(history, config)
        return fitted.predict(fitted.future(horizon))["forecast"].to_numpy()

    return forecast
