"""Choose Prophet's settings on the calibration origins only (issue 14 item 5).

Every usable series of the small sample (as `ml_quality.py --section forecasts` builds it) is backtested at its two
calibration origins: the two origins, 14 days apart, before the four reported ones (70 and 84 days before the last
day). The reported origins are never looked at. Each candidate setting is fitted on the same cleaned history as in
the backtests; the setting with the lowest mean MASE over all series at those origins is the one to ship.

    uv run python benchmarks/forecast_tuning.py [--forecast-home HOME]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

CANDIDATES = {
    "multiplicative, cps 0.05 (current)": {},
    "multiplicative, cps 0.01": {"changepoint_prior_scale": 0.01},
    "multiplicative, cps 0.5": {"changepoint_prior_scale": 0.5},
    "sqrt, additive, cps 0.05": {"transform": "sqrt", "seasonality_mode": "additive"},
    "sqrt, additive, cps 0.01": {"transform": "sqrt", "seasonality_mode": "additive", "changepoint_prior_scale": 0.01},
    "log1p, additive, cps 0.05": {"transform": "log1p", "seasonality_mode": "additive"},
}


def main() -> None:
    import pandas as pd
    from ml.forecasting import backtest
    from ml.forecasting.data import MIN_HISTORY_DAYS, unusable_reason
    from ml.forecasting.model import ProphetConfig, prophet_forecaster
    from ml.forecasting.run import ForecastOptions, _series
    from ml_quality import forecast_daily_series

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forecast-home")
    parser.add_argument("--work", default=str(ROOT / "data" / "bench" / "ml_quality"))
    args = parser.parse_args()
    frame, version = forecast_daily_series(args)
    options = ForecastOptions()
    forecasters = {
        name: prophet_forecaster(ProphetConfig(**({"uncertainty_samples": 0} | change)))
        for name, change in CANDIDATES.items()
    }
    started, rows = time.perf_counter(), []
    for org_id, project_id, metric, history in _series(frame, ("cost_usd", "total_tokens")):
        if unusable_reason(history["y"]):
            continue
        days, horizon = history["day"], options.backtest_horizon
        reported = backtest.origins(days, options.backtest_origins, horizon, MIN_HISTORY_DAYS)
        every = backtest.origins(
            days, options.backtest_origins + options.calibration_origins, horizon, MIN_HISTORY_DAYS
        )
        calibration = [origin for origin in every if origin not in reported]
        if not reported or not calibration:
            continue
        predictions = backtest.rolling_origin(history, forecasters, calibration, horizon, options.holidays_country)
        scores = backtest.score(predictions)
        for score in scores.itertuples():
            rows.append(
                {
                    "series": f"{org_id}/{project_id or '(org)'} {metric}",
                    "setting": score.forecaster,
                    "mase": score.mase,
                }
            )
        print(f"{org_id}/{project_id or '(org)'} {metric}: calibration origins {[str(o.date()) for o in calibration]}")
    table = pd.DataFrame(rows).pivot(index="series", columns="setting", values="mase")
    print(table.round(3).to_string())
    mean = table.mean().sort_values()
    print("mean MASE at the calibration origins:\n" + mean.round(4).to_string())
    print(f"chosen: {mean.index[0]} ({version}, {time.perf_counter() - started:.0f} s)")
    out = ROOT / "benchmarks" / "results" / "forecast_tuning.json"
    out.write_text(json.dumps({"snapshot": version, "mean_mase": mean.to_dict(), "chosen": mean.index[0]}, indent=2))


if __name__ == "__main__":
    main()
