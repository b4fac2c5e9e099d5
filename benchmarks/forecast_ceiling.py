"""How far below the best baseline can any forecast get on the small sample? A diagnostic, never a forecaster: oracles
that read the generator's own expected daily value (evaluation truth no production model has), scored exactly like
the backtests (`ml_quality.py --section forecasts`): same usable series, same four reported origins 14 days apart,
same 14 held-out raw days, same MASE scale (the seasonal-naive in-sample MAE before each origin).

In the generator (`aioa.generate`) every quantity of a series is a sum over sessions or spans whose count is Poisson
with mean ∝ `Calendar.volume(day)` (weekday factor × linear growth 0.6 → 1.4, 0.05 on its holidays), and whose
tokens and cost per call do not depend on the day; the labelled anomalies add on top. So a series' expected value on
a day is k · volume(day) (+ the anomaly), with one constant k per series. The oracles:

- `oracle_level`: k · volume(day) on every held-out day, k = Σ y / Σ volume over the series' whole period (held-out
  days included) leaving out the org's labelled anomaly days: the noise-free expected value, anomalies not foreseen;
- `oracle_level_best_multiple`: c · k · volume(day), with one c per series (0.30-1.50) chosen on the scored
  held-out days themselves (hindsight): MASE rewards a day's median, which on these sparse series (a few sessions
  a day, many zero days) lies below its expected value;
- `oracle_with_anomalies`: the same, but on a labelled anomaly day the affected org's series (the org and the
  projects of the anomaly's user) get the day's actual value: every anomaly foreseen exactly (more than the
  expected value: the most generous ceiling);
- `shape_known`: k fitted on the history before each origin only (anomaly days left out), the rest as
  `oracle_level`: what a model that knew the generator's exact shape could do from the data it had.

If even `oracle_with_anomalies` is not ≥ 15% below the best baseline's MASE on a series, issue 14's target cannot
be reached there: the rest is the Poisson noise of a few sessions a day. The baselines are recomputed here (same code
and cleaned history as the backtests). Writes benchmarks/results/forecast_ceiling.json.

    uv run python benchmarks/forecast_ceiling.py [--forecast-home HOME --sample SAMPLE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "forecast_ceiling.json"
ORACLES = ("oracle_level", "oracle_level_best_multiple", "oracle_with_anomalies", "shape_known")
MULTIPLES = np.round(np.arange(0.30, 1.501, 0.01), 2)
VOLUME_KINDS = ("cost_spike", "usage_surge", "error_burst", "runaway_agent")  # latency changes no count or cost


def expected_volume(sample: Path) -> pd.Series:
    """The generator's `Calendar.volume` per day of the sample (its first and last day from the truth file)."""
    from aioa.generate.world import Calendar

    first, last = json.loads((sample / "truth" / "expected_totals.json").read_text())["days"]
    calendar = Calendar.ending(pd.Timestamp(last).date(), (pd.Timestamp(last) - pd.Timestamp(first)).days + 1)
    return pd.Series({pd.Timestamp(day): calendar.volume(day) for day in calendar.days})


def anomaly_days(sample: Path, org_id: str, project_id: str | None) -> set[pd.Timestamp]:
    """The days a labelled anomaly could have moved this series: its org's, and for a project series only those
    whose user works on the project (a usage surge's sessions go to any of the user's projects)."""
    from aioa.generate.world import USER_PROJECTS

    labels = json.loads((sample / "labels" / "anomalies.json").read_text())
    return {
        pd.Timestamp(label["start"][:10])
        for label in labels
        if label["kind"] in VOLUME_KINDS
        and label["org_id"] == org_id
        and (project_id is None or project_id in USER_PROJECTS.get(label["user_id"], [label["project_id"]]))
    }


def oracle_rows(
    history: pd.DataFrame, volume: pd.Series, anomalous: set[pd.Timestamp], cuts: list[pd.Timestamp], horizon: int
) -> pd.DataFrame:
    """Prediction rows (backtest.PREDICTION_COLUMNS) of the three oracles at each origin."""
    from ml.forecasting import metrics

    days = pd.to_datetime(history["day"])
    x, y = days.map(volume).to_numpy(dtype=float), history["y"].to_numpy(dtype=float)
    regular = ~days.isin(anomalous).to_numpy()
    k_all = y[regular].sum() / x[regular].sum()
    rows = []
    for origin in cuts:
        before = (days <= origin).to_numpy()
        held = ((days > origin) & (days <= origin + pd.Timedelta(days=horizon))).to_numpy()
        k_before = y[before & regular].sum() / x[before & regular].sum()
        scale = metrics.seasonal_naive_scale(y[before])
        level = k_all * x[held]
        foreseen = np.where(regular[held], level, y[held])
        for name, point in (
            ("oracle_level", level),
            ("oracle_with_anomalies", foreseen),
            ("shape_known", k_before * x[held]),
        ):
            rows.append(
                pd.DataFrame(
                    {
                        "forecaster": name,
                        "origin": origin,
                        "day": days[held].to_numpy(),
                        "actual": y[held],
                        "forecast": point,
                        "lower": point,
                        "upper": point,
                        "scale": np.nan if scale is None else scale,
                        "calibration": False,
                    }
                )
            )
    frame = pd.concat(rows, ignore_index=True)
    level = frame[frame["forecaster"] == "oracle_level"]
    errors = [
        np.mean(np.abs(level["actual"] - multiple * level["forecast"]) / level["scale"]) for multiple in MULTIPLES
    ]
    best = float(MULTIPLES[int(np.argmin(errors))])
    scaled = level.assign(forecaster="oracle_level_best_multiple", forecast=best * level["forecast"])
    scaled = scaled.assign(lower=scaled["forecast"], upper=scaled["forecast"], multiple=best)
    return pd.concat([frame, scaled], ignore_index=True)


def main() -> None:
    from ml.forecasting import backtest
    from ml.forecasting.baselines import BASELINES
    from ml.forecasting.data import MIN_HISTORY_DAYS, unusable_reason
    from ml.forecasting.run import TARGET_IMPROVEMENT, ForecastOptions, _series
    from ml_quality import _forecast_home, forecast_daily_series

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forecast-home", help="a built home (default: the small sample, as ml_quality builds it)")
    parser.add_argument("--sample", help="the generated sample of --forecast-home (labels and truth)")
    parser.add_argument("--work", default=str(ROOT / "data" / "bench" / "ml_quality"))
    args = parser.parse_args()
    home = _forecast_home(args)
    sample = Path(args.sample) if args.sample else home.parent / "sample"
    frame, version = forecast_daily_series(args)
    volume, options = expected_volume(sample), ForecastOptions()
    started, cpu, series = time.perf_counter(), time.process_time(), []
    for org_id, project_id, metric, history in _series(frame, ("cost_usd", "total_tokens")):
        if unusable_reason(history["y"]):
            continue
        horizon = options.backtest_horizon
        cuts = backtest.origins(history["day"], options.backtest_origins, horizon, MIN_HISTORY_DAYS)
        predictions = backtest.rolling_origin(history, BASELINES, cuts, horizon, options.holidays_country)
        oracles = oracle_rows(history, volume, anomaly_days(sample, org_id, project_id), cuts, horizon)
        scores = backtest.score(pd.concat([predictions, oracles], ignore_index=True)).set_index("forecaster")
        mase = scores["mase"].astype(float).to_dict()
        multiple = float(oracles["multiple"].dropna().iloc[0])
        best = min(BASELINES, key=lambda name: mase[name])
        series.append(
            {
                "series": f"{org_id}/{project_id or '(org)'}",
                "metric": metric,
                "mase": mase,
                "best_baseline": best,
                "best_multiple": multiple,
                "below_best_baseline": {name: 1 - mase[name] / mase[best] for name in ORACLES},
            }
        )
    print(f"forecast ceiling ({version}): MASE on the reported origins; 'vs best' < 0 = below the best baseline")
    header = f"{'series':24} {'metric':12} {'best baseline':>22} " + " ".join(f"{name:>22}" for name in ORACLES)
    print(header)
    for row in series:
        best = row["best_baseline"]
        cells = " ".join(
            f"{row['mase'][name]:.3f} ({-row['below_best_baseline'][name]:+.1%})".rjust(22) for name in ORACLES
        )
        print(
            f"{row['series']:24} {row['metric']:12} {best:>14} {row['mase'][best]:.3f} {cells}  c={row['best_multiple']:.2f}"
        )
    summary = {
        name: {
            "series_at_least_15pct_below": sum(
                row["below_best_baseline"][name] >= TARGET_IMPROVEMENT for row in series
            ),
            "median_below_best_baseline": float(np.median([row["below_best_baseline"][name] for row in series])),
            "range_below_best_baseline": [
                float(min(row["below_best_baseline"][name] for row in series)),
                float(max(row["below_best_baseline"][name] for row in series)),
            ],
        }
        for name in ORACLES
    }
    for name, cell in summary.items():
        low, high = cell["range_below_best_baseline"]
        print(
            f"{name}: ≥ {TARGET_IMPROVEMENT:.0%} below the best baseline on {cell['series_at_least_15pct_below']} of "
            f"{len(series)} series; median {cell['median_below_best_baseline']:.1%} below (range {low:.1%} to {high:.1%})"
        )
    seconds = time.perf_counter() - started
    print(f"{seconds:.0f} s wall, {time.process_time() - cpu:.0f} CPU-s, load {os.getloadavg()[0]:.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "snapshot": version,
                "target_improvement": TARGET_IMPROVEMENT,
                "series": series,
                "summary": summary,
                "seconds": round(seconds, 1),
                "load_average": os.getloadavg()[0],
            },
            indent=2,
            default=str,
        )
    )
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
