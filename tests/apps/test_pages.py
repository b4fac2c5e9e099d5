"""Every page renders without an exception (streamlit.testing AppTest); headline numbers equal a direct query of
the marts; an empty home shows the command that fills it; an org-restricted app shows only its org."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.snapshots import open_snapshot

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")
PAGES = [
    "overview",
    "costs",
    "projects",
    "sessions",
    "mcp_tools",
    "routing",
    "forecasts",
    "anomalies",
    "quality",
    "ask",
]


def _render(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    if page != "overview":
        app.switch_page(f"app_pages/{page}.py")
        app.run()
    return app


@pytest.fixture
def app_home(built_home, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    return built_home


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page, app_home):
    app = _render(page)
    assert not app.exception, [item.value for item in app.exception]
    assert app.title or app.info  # a page always says what it is or what to do


def _total(home, sql: str) -> float:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(sql).fetchone()[0]


LAST_30_DAYS = "day > (select max(day) - 30 from marts.fct_llm_calls)"  # the app's default window


def test_overview_headlines_equal_the_marts(app_home):
    app = _render("overview")
    metrics = {metric.label: metric for metric in app.metric}
    spend = _total(app_home, f"select sum(cost_usd) from marts.fct_llm_calls where {LAST_30_DAYS}")
    before = _total(
        app_home,
        "select sum(cost_usd) from marts.fct_llm_calls where day between "
        "(select max(day) - 59 from marts.fct_llm_calls) and "
        "(select max(day) - 30 from marts.fct_llm_calls)",
    )
    calls = _total(app_home, f"select count(*) from marts.fct_llm_calls where {LAST_30_DAYS}")
    tokens = _total(app_home, f"select sum(total_tokens) from marts.fct_llm_calls where {LAST_30_DAYS}")
    errors = _total(
        app_home, f"select avg(case when is_error then 1.0 else 0.0 end) from marts.fct_llm_calls where {LAST_30_DAYS}"
    )
    savings = _total(app_home, f"select sum(savings_usd) from marts.fct_handoffs where {LAST_30_DAYS}")
    assert metrics["Spend"].value == f"${spend:,.2f}"
    change = spend - before  # signed before the dollar sign ("+$5.81", "-$1.18"): the arrow follows the sign
    assert metrics["Spend"].delta == ("+" if change > 0 else "-" if change < 0 else "") + f"${abs(change):,.2f}"
    assert metrics["Calls"].value == f"{calls:,.0f}"
    assert metrics["Tokens"].value == f"{tokens / 1e6:,.1f}M"
    assert metrics["Error rate"].value == f"{errors:.2%}"
    assert metrics["Savings from routing"].value == f"${savings:,.2f}"
    # the operator sees every org: each filter has values to choose from
    assert [box.label for box in app.sidebar.multiselect] == ["Org", "Team", "Project", "Model"]


def test_costs_table_totals_equal_the_marts(app_home):
    app = _render("costs")
    totals = app.dataframe[0].value
    assert totals["cost_usd"].sum() == pytest.approx(
        _total(app_home, f"select sum(cost_usd) from marts.fct_llm_calls where {LAST_30_DAYS}")
    )
    assert totals["calls"].sum() == _total(app_home, f"select count(*) from marts.fct_llm_calls where {LAST_30_DAYS}")


def test_quality_page_shows_the_latest_checks(app_home):
    app = _render("quality")
    metrics = {metric.label: metric.value for metric in app.metric}
    expected = _total(
        app_home,
        "select count(*) from quality.check_results where check_run_id = "
        "(select max(check_run_id) from quality.check_results)",
    )
    assert metrics["Expectations"] == str(expected)
    assert metrics["Failed (error)"] == "0"


def test_ask_page_answers_a_question(app_home):
    app = _render("ask")
    app.text_input[0].input("spend by org").run()
    assert not app.exception
    assert app.success and "Spend" in app.success[0].value
    assert app.code and "agg_usage_daily" in app.code[0].value


def test_the_projects_page_keeps_a_shared_project_name_apart_per_org(app_home):
    app = _render("projects")
    overview = app.dataframe[0].value
    shared = overview[overview["project_id"] == "core-ledger"].set_index("org_id")["cost_usd"]
    expected = dict(
        _rows(
            app_home,
            f"select org_id, sum(cost_usd) from marts.fct_llm_calls "
            f"where project_id = 'core-ledger' and {LAST_30_DAYS} group by 1",
        )
    )
    assert len(expected) == 2  # the sample's globex also logs a `core-ledger` (initech's project)
    assert shared.to_dict() == pytest.approx(expected)


def _rows(home, sql: str) -> list[tuple]:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(sql).fetchall()


@pytest.mark.parametrize("page", ["overview", "costs", "quality", "routing", "anomalies"])
def test_an_empty_home_shows_what_fills_it(page, tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "empty"))
    app = _render(page)
    assert not app.exception
    assert any("make demo" in item.value for item in app.info)


def test_forecasts_page_shows_the_stored_forecast_and_projection(built_home, tmp_path, monkeypatch):
    import shutil
    from datetime import date

    import pandas as pd

    from aioa.warehouse.ml_tables import write_ml_tables

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    days = [date(2026, 11, day) for day in range(18, 24)]
    forecasts = pd.DataFrame(
        {
            "org_id": "acme",
            "project_id": pd.Series([None] * 6, dtype="object"),
            "metric": "cost_usd",
            "day": days,
            "actual": [1.0, 2.0, 3.0, None, None, None],
            "forecast": [1.1, 2.1, 2.9, 3.0, 3.1, 3.2],
            "lower": [0.5] * 6,
            "upper": [4.0] * 6,
            "kind": ["history"] * 3 + ["forecast"] * 3,
        }
    )
    projections = pd.DataFrame(
        [
            {
                "org_id": "acme",
                "month": date(2026, 11, 1),
                "month_to_date_usd": 27.16,
                "forecast_remaining_usd": 12.26,
                "projected_month_end_usd": 39.42,
                "p10_usd": 37.9,
                "p90_usd": 41.8,
                "budget_usd": 40.0,
                "prob_exceed_budget": 0.35,
            }
        ]
    )
    write_ml_tables(Settings(home=home), {"forecasts": forecasts, "budget_projections": projections})
    monkeypatch.setenv("AIOA_HOME", str(home))
    app = _render("forecasts")
    assert not app.exception, [item.value for item in app.exception]
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Projected month end"] == "$39.42" and metrics["P(exceed budget)"] == "35%"
    assert any("9.30 forecast in total" in caption.value for caption in app.caption)  # 3.0 + 3.1 + 3.2


def test_anomalies_page_lists_each_anomaly_with_its_drivers(built_home, tmp_path, monkeypatch):
    import shutil

    from ml.anomalies.run import run_detection

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    monkeypatch.setenv("AIOA_HOME", str(home))
    daily = run_detection(Settings(home=home), ("day",), track=False).anomalies
    app = _render("anomalies")
    assert not app.exception, [item.value for item in app.exception]
    table = app.dataframe[0].value
    assert len(table) == len(daily) > 0 and set(table["driver_user"]) == set(daily["driver_user"])
    app.multiselect[0].set_value(["error_burst"]).run()
    assert set(app.dataframe[0].value["kind"]) == {"error_burst"}
