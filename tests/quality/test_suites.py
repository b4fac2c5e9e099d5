"""`usage_vs_trailing_window` on a hand-made daily usage table: it flags an org whose last week is several times its
baseline, and leaves alone an org whose baseline is a few sessions (where one session more or less is no change)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from aioa.quality.checks import run_quality_checks
from aioa.quality.suites import BASELINE_DAYS, MAX_RATIO, MIN_BASELINE_CALLS, RECENT_DAYS, SUITES
from aioa.warehouse.schema import all_ddl
from aioa.warehouse.session import DuckDBSession
from aioa.warehouse.sql import execute_script

LAST_DAY = date(2026, 11, 20)
SUITE = next(suite for suite in SUITES if suite.name == "usage_vs_trailing_window")


def _days(org: str, calls_per_day, days: range) -> list[dict]:
    """One row per day `offset` days before LAST_DAY; cost is 5 cents a call."""
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


def _warehouse(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    execute_script(connection, all_ddl())  # the raw tables the other suites read (empty)
    connection.execute("create schema marts")
    frame = pd.DataFrame(rows)
    connection.register("usage_frame", frame)
    connection.execute("create table marts.agg_usage_daily as select * from usage_frame")
    return connection


def _verdict(rows: list[dict]) -> tuple[pd.DataFrame, bool]:
    with _warehouse(rows) as connection:
        session = DuckDBSession(connection)
        frame = session.frame(SUITE.sql).set_index("org_id")
        results = {result.suite: result.success for result in run_quality_checks(session)}
    return frame, results[SUITE.name]


def test_a_few_sessions_are_not_judged_and_a_steady_org_passes():
    assert sum(row["calls"] for row in FEW_SESSIONS if row["day"] <= LAST_DAY - timedelta(RECENT_DAYS)) < (
        MIN_BASELINE_CALLS
    )
    frame, passed = _verdict(STEADY + FEW_SESSIONS)
    assert frame.loc["steady", "calls_ratio"] == pytest.approx(1.0)
    assert frame.loc["steady", "cost_ratio"] == pytest.approx(1.0)
    assert frame.loc["few", ["calls_ratio", "cost_ratio", "unpriced_share_rise"]].isna().all()
    assert passed


def test_a_week_at_five_times_the_baseline_is_flagged():
    frame, passed = _verdict(STEADY + FEW_SESSIONS + SPIKE)
    assert MAX_RATIO < 5.0
    assert frame.loc["spike", "calls_ratio"] == pytest.approx(5.0)
    assert not passed
