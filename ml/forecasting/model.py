"""Prophet for one daily series: weekly seasonality, 80% intervals, non-negative forecasts; fitted on the same
cleaned history as the baselines (`ml.forecasting.history`: spikes and public holidays replaced by the usual level,
holidays scaled back in by one factor for every model). Imported lazily because Prophet takes seconds to import."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ml.forecasting.history import CleanHistory


@dataclass(frozen=True)
class ProphetConfig:
    seasonality_mode: str = "multiplicative"  # usage = weekday factor × growing trend
    # chosen on the calibration origins only (28 Aug, 11 Sep on the small sample), never on the reported ones:
    # lowest mean MASE of six settings (benchmarks/forecast_tuning.py; 0.05 was within 0.04%)
    changepoint_prior_scale: float = 0.01
    interval_width: float = 0.8
    uncertainty_samples: int = 300  # enough for stable 10%/90% quantiles, few enough to stay fast
    transform: str = "none"  # "sqrt" or "log1p": fit on the transformed level, forecasts and bounds mapped back

    def params(self) -> dict:
        return asdict(self)


_FORWARD = {"none": lambda y: y, "sqrt": np.sqrt, "log1p": np.log1p}
_BACK = {"none": lambda y: y, "sqrt": lambda y: np.square(np.clip(y, 0, None)), "log1p": np.expm1}


def _quiet() -> None:
    # cmdstanpy logs every optimiser start/stop at INFO; prophet logs its seasonality choices.
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("cmdstanpy").disabled = True


@dataclass
class FittedProphet:
    model: object
    last_day: pd.Timestamp
    transform: str = "none"

    def future(self, horizon: int) -> pd.DataFrame:
        return pd.DataFrame({"ds": pd.date_range(self.last_day + pd.Timedelta(days=1), periods=horizon)})

    def predict(self, days: pd.DataFrame) -> pd.DataFrame:
        """day, forecast, lower, upper (clipped at zero: spend and tokens are never negative)."""
        predicted = self.model.predict(days)
        back = _BACK[self.transform]
        for column in ("yhat", "yhat_lower", "yhat_upper"):
            if column in predicted:
                predicted[column] = back(predicted[column].to_numpy(dtype=float))
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
        return np.clip(_BACK[self.transform](self.model.predictive_samples(days)["yhat"]), 0, None)


def fit(history: CleanHistory, config: ProphetConfig = ProphetConfig()) -> FittedProphet:
    """Prophet on the cleaned history's regular-day level `y`."""
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
    y = _FORWARD[config.transform](np.clip(history.y, 0, None))
    model.fit(pd.DataFrame({"ds": pd.to_datetime(history.frame["day"]), "y": y}))
    return FittedProphet(model, history.last_day, config.transform)


def prophet_forecaster(config: ProphetConfig = ProphetConfig()):
    """A forecaster like the baselines': cleaned history and a horizon in; day, forecast, lower, upper out."""

    def forecast(history: CleanHistory, horizon: int) -> pd.DataFrame:
        fitted = fit(history, config)
        return fitted.predict(fitted.future(horizon))

    return forecast
