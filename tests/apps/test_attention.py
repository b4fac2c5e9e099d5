"""The Overview's attention items from stored frames: which budgets are at risk and the day each is passed (counted
apart from the code), one item per anomalous day with its drivers, and a failed run named with its step."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import pandas as pd

from aioa.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "apps" / "dashboard"))

import attention  # noqa: E402  (the app's modules import each other by file name, as Streamlit runs them)

from aioa.pipeline_runs import PipelineRun  # noqa: E402
from tests.apps.stored_ml import ORG, expected_overrun, frames  # noqa: E402


def test_an_overrun_budget_names_its_chance_and_the_day_it_is_passed():
    for last in (date(2026, 11, 20), date(2026, 11, 2)):  # late and early in the month
        table = frames(last)
        [item] = attention.budget_items(table["budget_projections"], table["forecasts"])
        assert item.severity == "error" and item.title.startswith(f"{ORG}: 100% chance of overrunning")
        assert item.query == {"org": ORG} and item.page == "app_pages/forecasts.py"
        day = expected_overrun(last)
        assert (
            attention.overrun_day(
                ORG,
                table["budget_projections"]["budget_usd"].iloc[0],
                table["budget_projections"].iloc[0],
                table["forecasts"],
            )
            == day
        )
        assert day.strftime("%b %Y") in item.detail and "the forecast passes it on" in item.detail


def test_a_budget_already_passed_says_since_when():
    table = frames(date(2026, 11, 20))  # one dollar a day of actual spend from the 1st
    spent = table["budget_projections"].assign(budget_usd=1.5)
    [item] = attention.budget_items(spent, table["forecasts"])
    assert "already over it since Mon 2 Nov 2026" in item.detail


def test_budgets_below_the_risk_line_and_other_orgs_are_left_out():
    table = frames(date(2026, 11, 20))
    calm = table["budget_projections"].assign(prob_exceed_budget=0.05)
    assert attention.budget_items(calm, table["forecasts"]) == []
    assert attention.budget_items(table["budget_projections"], table["forecasts"], orgs=("globex",)) == []


def test_an_anomalous_day_is_one_item_with_its_drivers():
    spike = frames(date(2026, 11, 20))["anomalies"]
    hourly = spike.assign(grain="hour", start=spike["start"] + pd.Timedelta(hours=14), score=20.0)
    older = spike.assign(start=spike["start"] - pd.Timedelta(days=3), kind="usage_surge", metric="calls")
    items = attention.anomaly_items(pd.concat([hourly, spike, older], ignore_index=True))
    assert [item.title for item in items] == [f"{ORG}: cost spike on 2026-11-20", f"{ORG}: usage surge on 2026-11-17"]
    assert "Spend $79.25 against $3.50 usually; driven by project checkout-api 80%" in items[0].detail
    assert items[0].query == {"org": ORG, "kind": "cost_spike"}


def test_freshness_says_how_recent_the_data_is_and_names_a_failed_step():
    started = datetime(2026, 11, 21, 2, 15, tzinfo=UTC)
    failed = PipelineRun(
        "failed", started, started, "schedule daily_ingest", "r1", failed_step="dbt build", message="a test failed"
    )
    item = attention.freshness_item(date(2026, 11, 20), failed)
    assert item.title == "Data through Fri 20 Nov 2026" and item.severity == "error"
    assert "schedule daily_ingest" in item.detail and "Failed at dbt build: a test failed" in item.detail
    assert attention.freshness_item(None, None).title == "No usage data yet"
