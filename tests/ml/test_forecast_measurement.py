"""Forecast measurement: metrics recomputed by hand for one series, every model fed the identical cleaned history,
a deliberately bad model never shipped, coverage on held-out days only, no shipping without a backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml.forecasting import backtest
from ml.forecasting.baselines import BASELINES, seasonal_naive
from ml.forecasting.history import clean_history
from ml.forecasting.run import ForecastOptions, compute_forecasts, run_backtests

WEEKDAY = np.array([1.0, 1.1, 1.1, 1.05, 0.85, 0.2, 0.12])
NO_USAGE = pd.DataFrame(columns=["org_id", "model", "total_tokens", "cost_usd"])
BUDGETS = pd.DataFrame({"org_id": ["solo"], "monthly_budget_usd": [300.0]})


def _daily(days: int = 100, start: str = "2026-08-01", seed: int = 0) -> pd.DataFrame:
    """Weekday pattern × slow growth × log-normal noise: what a team's daily spend looks like, without anomalies."""
    day = pd.date_range(start, periods=days)
    noise = np.random.default_rng(seed).lognormal(0.0, 0.15, days)
    return pd.DataFrame({"day": day, "y": 10 * WEEKDAY[day.weekday] * (1 + 0.005 * np.arange(days)) * noise})


def _frame(history: pd.DataFrame, project: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "org_id": "solo",
            "project_id": project,
            "day": history["day"],
            "cost_usd": history["y"],
            "total_tokens": history["y"] * 1000,
        }
    )


def test_metrics_recomputed_by_hand_for_one_series():
    history = _daily()  # 1 Aug – 8 Nov; no spike; holidays off so the cleaned history is the raw one
    options = ForecastOptions(holidays_country=None)
    backtests, skipped = run_backtests([("solo", None, "cost_usd", history)], options)
    assert not skipped
    naive = backtests.set_index("forecaster").loc["seasonal_naive"]
    y, day = history["y"].to_numpy(), history["day"]
    assert (clean_history(history, None).frame["y"].to_numpy() == y).all()  # nothing was replaced

    errors, scaled, covered, actual_sum = [], [], [], 0.0
    last = len(y) - 1
    for step in (4, 3, 2, 1):  # origins 56, 42, 28 and 14 days before the last day
        origin = last - 14 * step
        train = y[: origin + 1]
        scale = np.mean(np.abs(train[7:] - train[:-7]))
        in_sample = train[7:] - train[:-7]
        low, high = np.quantile(in_sample, 0.1), np.quantile(in_sample, 0.9)
        for ahead in range(1, 15):
            point = train[origin + ahead - 7 * ((ahead - 1) // 7 + 1)]
            widen = np.sqrt((ahead - 1) // 7 + 1)
            lower, upper = max(point + low * widen, 0), max(point + high * widen, 0)
            actual = y[origin + ahead]
            errors.append(abs(actual - point))
            scaled.append(abs(actual - point) / scale)
            covered.append(lower <= actual <= upper)
            actual_sum += actual
    assert naive["origins"] == 4 and naive["days"] == 56
    assert naive["wape"] == pytest.approx(sum(errors) / actual_sum)
    assert naive["mase"] == pytest.approx(np.mean(scaled))
    assert naive["coverage_80"] == pytest.approx(np.mean(covered))

    month_errors = []  # mid-month origins: 14 September and 14 October (14 August has too little history)
    for month in ("2026-09", "2026-10"):
        in_month = (day.dt.strftime("%Y-%m") == month).to_numpy()
        origin = int(np.flatnonzero(in_month)[13])
        last_week = y[origin - 6 : origin + 1]
        rest = np.flatnonzero(in_month)[-1] - origin
        projected = y[in_month][:14].sum() + np.resize(last_week, rest).sum()
        month_errors.append(abs(projected - y[in_month].sum()) / y[in_month].sum())
    assert naive["months"] == 2
    assert naive["month_total_error"] == pytest.approx(np.mean(month_errors))
    # Prophet's and ETS's metrics from their stored predictions, recomputed with pandas.
    cuts = backtest.origins(day, 4, 14, 28)
    predictions = backtest.rolling_origin(history, {"ets": BASELINES["ets"]}, cuts, 14, None)
    ets = backtests.set_index("forecaster").loc["ets"]
    assert ets["wape"] == pytest.approx((predictions["actual"] - predictions["forecast"]).abs().sum() / actual_sum)
    inside = (predictions["actual"] >= predictions["lower"]) & (predictions["actual"] <= predictions["upper"])
    assert ets["coverage_80"] == pytest.approx(inside.mean())
    assert ets["mase"] == pytest.approx(
        ((predictions["actual"] - predictions["forecast"]).abs() / predictions["scale"]).mean()
    )
    best = backtests[~backtests["forecaster"].isin(["prophet", "combination"])].sort_values("mase").iloc[0]
    prophet = backtests.set_index("forecaster").loc["prophet"]
    assert prophet["best_baseline"] == best["forecaster"]
    assert prophet["mase_vs_best_baseline"] == pytest.approx(1 - prophet["mase"] / best["mase"])
    assert backtests["shipped"].sum() == 1


def test_prophet_and_every_baseline_get_the_identical_cleaned_history(monkeypatch):
    history = _daily()
    spike = history.index[60]  # a Wednesday, eight times the usual level (a runaway agent)
    history.loc[spike, "y"] *= 8
    holidays = history["day"].isin(pd.to_datetime(["2026-09-07", "2026-10-12"]))  # US public holidays: quiet
    history.loc[holidays, "y"] *= 0.05
    seen: dict[str, list] = {}

    def recording(name, forecaster):
        def forecast(cleaned, horizon):
            seen.setdefault(name, []).append(cleaned)
            return forecaster(cleaned, horizon)

        return forecast

    for name, forecaster in list(BASELINES.items()):
        monkeypatch.setitem(BASELINES, name, recording(name, forecaster))
    model = recording("model", seasonal_naive)  # stands in for Prophet in the model slot: same inputs
    run_backtests([("solo", None, "cost_usd", history)], ForecastOptions(), forecaster=model)
    assert set(seen) == {"model", "seasonal_naive", "weekday_median", "ets"}
    calls = len(seen["model"])
    # one calibration origin (70 days before the last; the one 84 days before has too little history), four rolling
    # origins and two mid-month origins
    assert calls == 7
    for index in range(calls):
        given = [seen[name][index] for name in seen]
        assert all(item is given[0] for item in given)  # one object: the same values and the same holiday factor
    last = seen["model"][4].frame.set_index("day")  # the last rolling origin sees the spike and both holidays
    assert last.loc[history.loc[spike, "day"], "spike"] and not last["spike"].drop(history.loc[spike, "day"]).any()
    assert last.loc[history.loc[spike, "day"], "y"] < history.loc[spike, "y"] / 4  # replaced by the usual level
    assert last.loc[pd.Timestamp("2026-09-07"), "holiday"] and last["holiday"].sum() == 2
    assert last.loc[pd.Timestamp("2026-09-07"), "y"] > 5 * last.loc[pd.Timestamp("2026-09-07"), "observed"]
    assert seen["model"][4].holiday_factor == pytest.approx(0.05, abs=0.03)


def test_a_constant_zero_model_is_not_shipped():
    def zero(history, horizon):
        return np.zeros(horizon)

    run = compute_forecasts(_frame(_daily()), BUDGETS, NO_USAGE, ForecastOptions(), forecaster=zero)
    prophet_rows = run.backtests[run.backtests["forecaster"] == "prophet"]
    assert len(prophet_rows) == 2 and not prophet_rows["shipped"].any()
    assert (prophet_rows["wape"] == 1.0).all() and (prophet_rows["mase_vs_best_baseline"] < 0).all()
    assert prophet_rows["selection"].str.contains("does not beat the best baseline").all()
    assert run.shipped and set(run.forecasts["model"]) <= set(BASELINES)
    assert run.verdict.model_wins == 0 and not run.verdict.passed
    assert run.projections.loc[0, "model"] in BASELINES


def test_coverage_counts_held_out_days_only():
    history = _daily()
    cuts = backtest.origins(history["day"], 4, 14, 28)

    def exact_in_sample(cleaned, horizon):
        """An interval that would cover the training days perfectly and nothing after them."""
        level = float(cleaned.y[-1])
        return pd.DataFrame(
            {"day": cleaned.future_days(horizon), "forecast": level, "lower": level + 1e6, "upper": level + 2e6}
        )

    predictions = backtest.rolling_origin(history, {"odd": exact_in_sample, "naive": seasonal_naive}, cuts, 14)
    for origin, group in predictions.groupby("origin"):
        assert (group["day"] > origin).all() and (group["day"] <= origin + pd.Timedelta(days=14)).all()
    scores = backtest.score(predictions).set_index("forecaster")
    assert scores.loc["odd", "coverage_80"] == 0.0 and scores.loc["odd", "days"] == 56
    naive = predictions[predictions["forecaster"] == "naive"]
    held_out = history.set_index("day").loc[naive["day"], "y"].to_numpy()
    inside = (held_out >= naive["lower"].to_numpy()) & (held_out <= naive["upper"].to_numpy())
    assert scores.loc["naive", "coverage_80"] == pytest.approx(inside.mean())


def test_a_series_without_a_backtest_is_not_shipped():
    org = _daily()
    young = _daily(35, start="2026-10-05", seed=1)  # a project started five weeks ago: usable, too young to backtest
    frame = pd.concat([_frame(org), _frame(young, project="new-project")], ignore_index=True)
    frame = frame.groupby(["org_id", "project_id", "day"], dropna=False, as_index=False).sum()

    def zero(history, horizon):  # keeps Prophet out of this test: the baselines are shipped for the org
        return np.zeros(horizon)

    run = compute_forecasts(frame, BUDGETS, NO_USAGE, ForecastOptions(), forecaster=zero)
    skipped = [item for item in run.skipped if item["project_id"] == "new-project"]
    assert {item["stage"] for item in skipped} == {"backtest"} and len(skipped) == 2
    assert "not shipped" in skipped[0]["reason"]
    assert not (run.forecasts["project_id"] == "new-project").any()
    assert not (run.backtests["project_id"] == "new-project").any()
    assert run.forecasts["project_id"].isna().all() and not run.forecasts.empty


def test_combination_interval_recomputed_from_earlier_origins_only():
    """The combination = the mean of its members at each origin; its 80% interval = point + the 10%/90% quantiles
    of its scaled errors at the origins before (calibration ones included) × this origin's scale, per week ahead."""
    history = _daily(130, seed=3)
    members = {"prophet": seasonal_naive, "ets": BASELINES["weekday_median"], "weekday_median": BASELINES["ets"]}
    every = backtest.origins(history["day"], 6, 14, 28)
    cuts, calibration = every[2:], every[:2]
    predictions = backtest.rolling_origin(history, members, cuts, 14, None, calibration_points=calibration)
    combined = predictions[predictions["forecaster"] == "combination"]
    assert combined["calibration"].sum() == 28 and len(combined) == 84
    y, days = history["y"].to_numpy(), history["day"]
    past_errors: list[tuple[int, float]] = []  # (days ahead, scaled error) of the origins already over
    for origin in every:
        rows = predictions[predictions["origin"] == origin].set_index("forecaster")
        point = np.mean([rows.loc[name, "forecast"].to_numpy() for name in members], axis=0)
        mine = combined[combined["origin"] == origin]
        assert mine["forecast"].to_numpy() == pytest.approx(point)
        at = int(np.flatnonzero(days == origin)[0])
        train = y[: at + 1]
        scale = np.mean(np.abs(train[7:] - train[:-7]))
        if past_errors:
            ahead = np.array([item[0] for item in past_errors])
            errors = np.array([item[1] for item in past_errors])
            for step in range(14):
                week = errors[(ahead - 1) // 7 == step // 7]
                week = week if len(week) >= 10 else errors
                low, high = np.quantile(week, 0.1), np.quantile(week, 0.9)
                lower = max(min(point[step] + low * scale, point[step]), 0)
                upper = max(point[step] + high * scale, point[step])
                assert mine["lower"].iloc[step] == pytest.approx(lower)
                assert mine["upper"].iloc[step] == pytest.approx(upper)
        actual = y[at + 1 : at + 15]
        past_errors += [(step + 1, (actual[step] - point[step]) / scale) for step in range(14)]
    scores = backtest.score(predictions).set_index("forecaster")
    reported = combined[~combined["calibration"]]
    inside = (reported["actual"] >= reported["lower"]) & (reported["actual"] <= reported["upper"])
    assert scores.loc["combination", "days"] == 56
    assert scores.loc["combination", "coverage_80"] == pytest.approx(inside.mean())
    assert 0.6 <= scores.loc["combination", "coverage_80"] <= 0.95  # calibrated on its own past errors
