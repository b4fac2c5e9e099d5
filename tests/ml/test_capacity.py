"""Capacity planning: the busiest minute per day from the calls, the day a growing peak reaches the configured limit
(checked against the line the data was drawn from), limits looked up per org and provider, and honest statuses."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from ml.capacity import forecast

AS_OF = date(2026, 11, 20)
DAYS = forecast.HISTORY_DAYS


def peaks(values: np.ndarray, org: str = "acme", provider: str = "anthropic") -> pd.DataFrame:
    days = [AS_OF - timedelta(days=len(values) - 1 - index) for index in range(len(values))]
    return pd.DataFrame(
        {"org_id": org, "provider": provider, "day": days, "calls_per_minute": 5.0, "tokens_per_minute": values}
    )


def test_the_limit_day_follows_the_growing_peak():
    rng = np.random.default_rng(4)
    intercept, slope, noise = 10_000.0, 250.0, 800.0
    values = intercept + slope * np.arange(DAYS) + rng.normal(0, noise, DAYS)
    limits = {"anthropic": {"tokens_per_minute": 40_000, "requests_per_minute": 50}}
    row = forecast.plan(peaks(values), limits).set_index("metric").loc["tokens_per_minute"]
    # the 90% line of the drawing: intercept + 1.2816 σ + slope · day reaches 40,000 on `true_day`; the fitted
    # line's slope has a standard error of about 10/day here, 3 days at the crossing, 70 days ahead
    true_day = int(np.ceil((40_000 - intercept - 1.2816 * noise) / slope))
    expected = AS_OF + timedelta(days=true_day - (DAYS - 1))
    assert row["status"] == "will_hit"
    assert abs((row["limit_hit_day"] - expected).days) <= 8, (row["limit_hit_day"], expected)
    assert row["days_to_limit"] == (row["limit_hit_day"] - AS_OF).days
    assert row["trend_slope_per_day"] == pytest.approx(slope, rel=0.3)
    assert 0.6 <= row["backtest_share_under_p90"] <= 1.0  # 14 held-out days under the 90% line, most of them


def test_statuses_exceeded_flat_and_unconfigured():
    rng = np.random.default_rng(1)
    flat = 20_000 + rng.normal(0, 1_000, DAYS)
    spiky = flat.copy()
    spiky[30] = 45_000
    limits = {"*": {"tokens_per_minute": 40_000}}
    plan = forecast.plan(pd.concat([peaks(flat), peaks(spiky, org="globex")]), limits)
    tokens = plan[plan["metric"] == "tokens_per_minute"].set_index("org_id")
    assert tokens.loc["acme", "status"] == "no_growth" and pd.isna(tokens.loc["acme", "limit_hit_day"])
    assert tokens.loc["globex", "status"] == "exceeded"
    assert tokens.loc["globex", "limit_hit_day"] == AS_OF - timedelta(days=DAYS - 1 - 30)
    calls = plan[plan["metric"] == "calls_per_minute"]
    assert set(calls["status"]) == {"no_limit"}  # no requests_per_minute configured anywhere


def test_limits_are_looked_up_per_org_then_provider_then_default():
    limits = {"acme/anthropic": {"tokens_per_minute": 1}, "anthropic": {"tokens_per_minute": 2}, "*": {"x": 3}}
    assert forecast.limit_for(limits, "acme", "anthropic", "tokens_per_minute") == 1
    assert forecast.limit_for(limits, "globex", "anthropic", "tokens_per_minute") == 2
    assert forecast.limit_for(limits, "globex", "openai", "x") == 3
    assert forecast.limit_for(limits, "globex", "openai", "tokens_per_minute") is None


def test_minute_peaks_come_from_the_busiest_minute_of_each_day():
    connection = duckdb.connect()
    connection.execute("create schema marts")
    connection.execute(
        "create table marts.fct_llm_calls (org_id varchar, provider varchar, ts_utc timestamp, input_tokens bigint, "
        "output_tokens bigint, cache_write_tokens bigint)"
    )
    rows = [
        ("acme", "anthropic", "2026-11-01 10:00:05", 100, 10, 0),
        ("acme", "anthropic", "2026-11-01 10:00:50", 200, 20, 5),
        ("acme", "anthropic", "2026-11-01 10:00:59", 300, 30, None),
        ("acme", "anthropic", "2026-11-01 11:00:00", 5_000, 0, 0),
        ("acme", "openai", "2026-11-01 10:00:10", 1, 1, 0),
    ]
    connection.executemany("insert into marts.fct_llm_calls values (?, ?, ?, ?, ?, ?)", rows)
    result = forecast.minute_peaks(connection).set_index(["org_id", "provider"])
    assert result.loc[("acme", "anthropic"), "calls_per_minute"] == 3
    assert result.loc[("acme", "anthropic"), "tokens_per_minute"] == 5_000  # the 11:00 minute's single call
    assert result.loc[("acme", "openai"), "tokens_per_minute"] == 2
