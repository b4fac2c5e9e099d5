"""`usage_volume` on a hand-made daily usage table: without a stored forecast it flags an org whose last week is several
times its trailing baseline, and leaves alone an org whose baseline is a few sessions (where one session more or less
is no change); with a stored forecast an org is judged against the forecast of its recent days instead (a forecast
surge passes, an unforecast one warns), an org without one falls back to the trailing window, and the check's stored
result says which baseline was used."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from aioa.quality.checks import run_quality_checks
from aioa.quality.suites import (
    BASELINE_DAYS,
    FORECAST,
    MAX_RATIO,
    MIN_BASELINE_CALLS,
    RECENT_DAYS,
    SUITES,
    TRAILING_WINDOW,
)
from aioa.warehouse.schema import all_ddl
from aioa.warehouse.session import DuckDBSession
from aioa.warehouse.sql import execute_script

LAST_DAY = date(2026, 11, 20)
SUITE = next(suite for suite in SUITES if suite.name == "usage_volume")


def _days(org: str, calls_per_day, days: range) -> list[dict]:
    """One row per day `offset` days before LAST_DAY; cost is 5 cents and 1,000 tokens a call."""
    rows = []
    for offset in days:
        calls = calls_per_day(offset)
        if calls:
            rows.append(
                {
                    "day": LAST_DAY - timedelta(days=offset),
                    "org_id": org,
                    "calls": calls,
                    "cost_usd": calls * 0.05,
                    "total_tokens": calls * 1000,
                    "unpriced_calls": 0,
                }
            )
    return rows


WINDOW = range(RECENT_DAYS + BASELINE_DAYS)
STEADY = _days("steady", lambda offset: 40, WINDOW)
# the sample's default org (seed 7): one session of 7 calls in the baseline, three (19 calls) in the last week
FEW_SESSIONS = _days("few", lambda offset: {20: 7, 1: 8, 2: 5, 4: 6}.get(offset, 0), WINDOW)
# five times its level for the whole last week
SPIKE = _days("spike", lambda offset: 200 if offset < RECENT_DAYS else 40, WINDOW)


def _forecast(org: str, calls_per_day: int) -> list[dict]:
    """A stored org-level forecast of the last week (as the previous run's forecasts asset writes it)."""
    return [
        {
            "org_id": org,
            "project_id": None,
            "metric": metric,
            "day": LAST_DAY - timedelta(days=offset),
            "actual": None,
            "forecast": calls_per_day * per_call,
            "lower": None,
            "upper": None,
            "kind": "forecast",
            "model": "seasonal_naive",
        }
        for offset in range(RECENT_DAYS)
        for metric, per_call in (("cost_usd", 0.05), ("total_tokens", 1000))
    ]


def _warehouse(rows: list[dict], forecasts: list[dict] | None = None) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    execute_script(connection, all_ddl())  # the raw tables the other suites read (empty)
    connection.execute("create schema marts")
    frame = pd.DataFrame(rows)
    connection.register("usage_frame", frame)
    connection.execute("create table marts.agg_usage_daily as select * from usage_frame")
    if forecasts is not None:
        connection.execute("create schema ml")
        connection.register("forecast_frame", pd.DataFrame(forecasts))
        connection.execute("create table ml.forecasts as select * from forecast_frame")
    return connection


def _verdict(rows: list[dict], forecasts: list[dict] | None = None) -> tuple[pd.DataFrame, bool, dict]:
    """The suite's frame per org, whether it passed, and its stored result row per expectation column."""
    with _warehouse(rows, forecasts) as connection:
        session = DuckDBSession(connection)
        sql = SUITE.sql if forecasts is not None else SUITE.sql_without_forecasts
        frame = session.frame(sql).set_index("org_id")
        results = {result.suite: result for result in run_quality_checks(session)}
        stored = {
            column: observed
            for column, observed in connection.execute(
                "select column_name, observed from quality.check_results where suite = ?", [SUITE.name]
            ).fetchall()
        }
    return frame, results[SUITE.name].success, stored


def test_a_few_sessions_are_not_judged_and_a_steady_org_passes():
    assert sum(row["calls"] for row in FEW_SESSIONS if row["day"] <= LAST_DAY - timedelta(RECENT_DAYS)) < (
        MIN_BASELINE_CALLS
    )
    frame, passed, stored = _verdict(STEADY + FEW_SESSIONS)
    assert frame.loc["steady", "calls_ratio"] == pytest.approx(1.0)
    assert frame.loc["steady", "cost_ratio"] == pytest.approx(1.0)
    assert frame.loc["few", ["calls_ratio", "cost_ratio", "unpriced_share_rise"]].isna().all()
    assert set(frame["baseline"]) == {TRAILING_WINDOW}
    assert stored["baseline"] == f"{TRAILING_WINDOW}: few, steady"  # the stored result says what it judged against
    assert passed


def test_a_week_at_five_times_the_baseline_is_flagged():
    frame, passed, _ = _verdict(STEADY + FEW_SESSIONS + SPIKE)
    assert MAX_RATIO < 5.0
    assert frame.loc["spike", "calls_ratio"] == pytest.approx(5.0)
    assert not passed


def test_a_forecast_surge_passes_and_orgs_without_a_forecast_fall_back_to_the_trailing_window():
    # the forecast expected the spike org's 200 calls a day: five times its trailing level, but what was forecast
    frame, passed, stored = _verdict(STEADY + FEW_SESSIONS + SPIKE, _forecast("spike", 200))
    assert frame.loc["spike", "baseline"] == FORECAST
    assert frame.loc["spike", "cost_ratio"] == pytest.approx(1.0)
    assert frame.loc["spike", "tokens_ratio"] == pytest.approx(1.0)
    assert pd.isna(frame.loc["spike", "calls_ratio"])  # calls are not forecast
    assert frame.loc["steady", "baseline"] == TRAILING_WINDOW  # no stored forecast for it
    assert frame.loc["steady", "calls_ratio"] == pytest.approx(1.0)
    assert stored["baseline"] == f"{FORECAST}: spike; {TRAILING_WINDOW}: few, steady"
    assert passed


def test_usage_at_five_times_its_forecast_is_flagged_although_its_trailing_window_agrees():
    frame, passed, _ = _verdict(STEADY + FEW_SESSIONS, _forecast("steady", 8))
    assert frame.loc["steady", "baseline"] == FORECAST
    assert frame.loc["steady", "cost_ratio"] == pytest.approx(5.0)
    assert frame.loc["steady", "tokens_ratio"] == pytest.approx(5.0)
    assert not passed
