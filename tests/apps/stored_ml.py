"""Stored ML results written into a copy of a built home, as the forecast and anomaly runs store them: a budget that
is overrun (the chance is 100%), the forecast whose days pass it, an anomaly with its drivers, and backtests where
Prophet lost to seasonal-naive. Tests of the Overview's attention panel and of the CLI's stored results use them."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from aioa.settings import Settings
from aioa.warehouse.snapshots import open_snapshot

ORG = "acme"
BUDGET_AHEAD = 12.0  # the budget is month-to-date + this: the forecast (5 a day) passes it on its third day
FORECAST_PER_DAY = 5.0
ACTUAL_PER_DAY = 1.0


def last_day(home: Path) -> date:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute("select max(day) from marts.fct_llm_calls where org_id = ?", [ORG]).fetchone()[0]


def frames(last: date) -> dict[str, pd.DataFrame]:
    month = last.replace(day=1)
    month_end = (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()
    history = [month + timedelta(days=offset) for offset in range((last - month).days + 1)]
    ahead = [last + timedelta(days=offset) for offset in range(1, (month_end - last).days + 1)]
    month_to_date = ACTUAL_PER_DAY * len(history)
    budget = month_to_date + BUDGET_AHEAD
    forecasts = pd.DataFrame(
        {
            "org_id": ORG,
            "project_id": pd.Series([None] * (len(history) + len(ahead)), dtype="object"),
            "metric": "cost_usd",
            "day": history + ahead,
            "actual": [ACTUAL_PER_DAY] * len(history) + [None] * len(ahead),
            "forecast": [ACTUAL_PER_DAY] * len(history) + [FORECAST_PER_DAY] * len(ahead),
            "lower": 0.0,
            "upper": 9.0,
            "kind": ["history"] * len(history) + ["forecast"] * len(ahead),
            "model": "seasonal_naive",
        }
    )
    projected = month_to_date + FORECAST_PER_DAY * len(ahead)
    projections = pd.DataFrame(
        [
            {
                "org_id": ORG,
                "month": month,
                "last_actual_day": last,
                "remaining_days": len(ahead),
                "month_to_date_usd": month_to_date,
                "forecast_remaining_usd": FORECAST_PER_DAY * len(ahead),
                "projected_month_end_usd": projected,
                "p10_usd": projected - 1,
                "p90_usd": projected + 1,
                "budget_usd": budget,
                "share_of_budget": projected / budget,
                "prob_exceed_budget": 1.0,
            }
        ]
    )
    backtest = {
        "org_id": ORG,
        "project_id": None,
        "metric": "cost_usd",
        "origins": 4,
        "horizon": 14,
        "days": 56,
        "coverage_80": 0.8,
        "month_total_error": 0.1,
        "months": 1,
        "best_baseline": "seasonal_naive",
    }
    backtests = pd.DataFrame(
        [
            backtest
            | {"forecaster": "prophet", "wape": 0.3, "mase": 1.2, "mase_vs_best_baseline": 1 - 1.2 / 0.9}
            | {"shipped": False, "selection": "seasonal_naive has the lowest MASE"},
            backtest
            | {"forecaster": "seasonal_naive", "wape": 0.2, "mase": 0.9, "mase_vs_best_baseline": None}
            | {"shipped": True, "selection": "seasonal_naive has the lowest MASE"},
        ]
    )
    anomalies = pd.DataFrame(
        [
            {
                "org_id": ORG,
                "kind": "cost_spike",
                "grain": "day",
                "start": pd.Timestamp(last),
                "end": pd.Timestamp(last) + pd.Timedelta(days=1),
                "metric": "cost_usd",
                "observed": 79.25,
                "expected": 3.5,
                "score": 9.1,
                "driver_project": "checkout-api",
                "driver_project_share": 0.8,
                "driver_model": "claude-opus-4-6",
                "driver_model_share": 0.9,
                "driver_user": "amara",
                "driver_user_share": 0.7,
                "drivers": "project checkout-api 80%, model claude-opus-4-6 90%, user amara 70%",
                "evidence": "",
            }
        ]
    )
    return {
        "forecasts": forecasts,
        "budget_projections": projections,
        "forecast_backtests": backtests,
        "anomalies": anomalies,
    }


def expected_overrun(last: date) -> date:
    """Counted day by day, apart from the app's code: the first day the month's running total passes the budget."""
    table = frames(last)
    budget = float(table["budget_projections"]["budget_usd"].iloc[0])
    total = 0.0
    for row in table["forecasts"].sort_values("day").itertuples():
        total += row.actual if row.kind == "history" else row.forecast
        if total > budget:
            return row.day
    raise AssertionError("the fixture's budget is never passed")


def home_with_stored_ml(built_home: Path, target: Path) -> tuple[Path, date]:
    """A copy of `built_home` with the frames above stored (and published) as the ML runs store them."""
    from aioa.warehouse.ml_tables import write_ml_tables

    shutil.copytree(built_home, target)
    last = last_day(target)
    write_ml_tables(Settings(home=target), frames(last))
    return target, last
