"""Forecasting: every series backtested and shipping its lowest-MASE model on the generated sample, month-end projection = month-to-date actual + the
stored forecasts, P(exceed budget) from the samples, what-if by hand, bad input refused, CLI JSON, Dagster check."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey, AssetSelection, materialize
from ml.forecasting.budget import month_end_projection
from ml.forecasting.data import ForecastDataError, unusable_reason
from ml.forecasting.run import ForecastOptions, compute_forecasts, quality_verdict, run_forecasts
from ml.forecasting.whatif import (
    WhatIfError,
    apply_ratio,
    champion_router,
    mix_cost_ratio,
    parse_mix,
    routing_cost_ratio,
)
from orchestration.defs.ml.assets import forecasts as forecasts_asset
from orchestration.defs.ml.checks import forecasts_beat_baselines
from orchestration.defs.warehouse.assets import read_snapshot
from orchestration.defs.warehouse.resources import WarehouseResource
from typer.testing import CliRunner

from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.ml_tables import read_ml_table
from aioa.warehouse.snapshots import open_snapshot

ORGS = ("acme", "globex", "initech")


@pytest.fixture(scope="module")
def forecast_home(built_home, tmp_path_factory):
    """A copy of the built home on which the Dagster asset and its check ran once (shared by the tests below)."""
    home = tmp_path_factory.mktemp("forecast") / "home"
    shutil.copytree(built_home, home)
    result = materialize(
        [forecasts_asset, forecasts_beat_baselines, read_snapshot],  # the run publishes once
        resources={"warehouse": WarehouseResource(aioa_home=str(home))},
    )
    return home, result


def _query(home, sql: str, params=None):
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(sql, params or []).df()


def test_the_dagster_asset_ships_forecasts_and_its_check_passes(forecast_home):
    home, result = forecast_home
    assert result.success
    checks = {item.check_name: item for item in result.get_asset_check_evaluations()}
    check = checks["forecasts_beat_baselines"]
    verdict = quality_verdict(read_ml_table(Settings(home=home), "forecast_backtests", TenantScope.all_orgs()))
    # shipping is sound (an unsound one fails at ERROR); whether Prophet wins half the series is a warning only
    assert check.passed == verdict.passed and check.severity.value == "WARN" and verdict.series >= 12
    metadata = result.asset_materializations_for_node("ml__forecasts")[0].metadata
    assert metadata["shipped"].value is True
    assert AssetKey(["ml", "forecasts"]) == forecasts_asset.key
    stored = read_ml_table(Settings(home=home), "forecasts", TenantScope.all_orgs())
    org_level = stored[stored["project_id"].isna()]
    assert set(org_level["org_id"]) == set(ORGS)  # `default` has 12 active days: refused, not modelled
    ahead = org_level[(org_level["kind"] == "forecast") & (org_level["metric"] == "cost_usd")]
    assert ahead.groupby("org_id").size().to_dict() == {org: 30 for org in ORGS}
    assert (ahead["lower"] <= ahead["forecast"]).all() and (ahead["forecast"] <= ahead["upper"]).all()
    assert (ahead["lower"] >= 0).all() and ahead["actual"].isna().all()
    assert stored["project_id"].notna().any()  # project-level series too


def test_every_series_is_backtested_and_ships_its_lowest_mase_model(forecast_home):
    home, _ = forecast_home
    settings = Settings(home=home)
    backtests = read_ml_table(settings, "forecast_backtests", TenantScope.all_orgs())
    stored = read_ml_table(settings, "forecasts", TenantScope.all_orgs())
    keys = ["org_id", "project_id", "metric"]
    per_series = backtests.fillna({"project_id": "(org)"}).groupby(keys)
    assert (
        per_series["forecaster"]
        .apply(set)
        .map(lambda names: names == {"prophet", "combination", "seasonal_naive", "weekday_median", "ets"})
        .all()
    )
    assert (backtests["origins"] == 4).all() and (backtests["days"] == 56).all()
    assert backtests["project_id"].notna().any()  # project-level series are backtested too
    shipped = backtests[backtests["shipped"]].fillna({"project_id": "(org)"}).set_index(keys)
    lowest = per_series.apply(lambda group: group.loc[group["mase"].idxmin(), "mase"])
    assert (shipped["mase"] == lowest.loc[shipped.index]).all() and len(shipped) == len(lowest)
    models = stored.fillna({"project_id": "(org)"}).groupby(keys)["model"].agg(set)
    assert models.map(len).eq(1).all()
    assert {key: next(iter(value)) for key, value in models.items()} == shipped["forecaster"].to_dict()


def test_month_end_projection_is_month_to_date_plus_the_forecast(forecast_home):
    home, _ = forecast_home
    settings = Settings(home=home)
    projections = read_ml_table(settings, "budget_projections", TenantScope.all_orgs()).set_index("org_id")
    stored = read_ml_table(settings, "forecasts", TenantScope.all_orgs())
    month_to_date = _query(
        home,
        """
        select org_id, sum(cost_usd) as cost from marts.agg_usage_daily
        where day >= date_trunc('month', (select max(day) from marts.agg_usage_daily))
        group by org_id""",
    ).set_index("org_id")["cost"]
    budgets = _query(home, "select org_id, monthly_budget_usd from marts.dim_orgs").set_index("org_id")
    for org in ORGS:
        row = projections.loc[org]
        rest = stored[
            (stored["org_id"] == org)
            & stored["project_id"].isna()
            & (stored["metric"] == "cost_usd")
            & (stored["kind"] == "forecast")
            & (pd.to_datetime(stored["day"]) <= pd.Timestamp("2026-11-30"))
        ]
        assert len(rest) == row["remaining_days"] == 10  # the sample ends on 20 November
        assert row["month_to_date_usd"] == pytest.approx(month_to_date[org])
        assert row["projected_month_end_usd"] == pytest.approx(month_to_date[org] + rest["forecast"].sum())
        assert row["budget_usd"] == budgets.loc[org, "monthly_budget_usd"]
        assert 0.0 <= row["prob_exceed_budget"] <= 1.0
        assert row["p10_usd"] <= row["p90_usd"] and row["p10_usd"] >= month_to_date[org]
        if row["budget_usd"] > row["p90_usd"]:  # the sample spends far below its budgets
            assert row["prob_exceed_budget"] <= 0.1


def test_probability_of_exceeding_is_the_share_of_samples_above_budget():
    history = pd.DataFrame({"day": pd.date_range("2026-11-01", "2026-11-28"), "y": 1.0})  # 28 spent so far
    samples = np.array([[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]])  # two remaining days, four samples
    projection = month_end_projection(history, np.array([1.5, 1.5]), samples, budget=31.0)
    assert projection["remaining_days"] == 2 and projection["month_to_date_usd"] == 28.0
    assert projection["projected_month_end_usd"] == 31.0
    assert projection["prob_exceed_budget"] == 0.5  # totals 28, 30, 32, 34
    unbudgeted = month_end_projection(history, np.array([1.5, 1.5]), samples, budget=None)
    assert unbudgeted["prob_exceed_budget"] is None and unbudgeted["budget_usd"] is None


def test_model_mix_what_if_by_hand():
    usage = pd.DataFrame(
        {
            "org_id": ["acme", "acme", "globex"],
            "model": ["opus", "haiku", "haiku"],
            "total_tokens": [1_000_000.0, 2_000_000.0, 1_000_000.0],
            "cost_usd": [10.0, 2.0, 3.0],
        }
    )
    ratios = mix_cost_ratio(usage, "opus", "haiku", 0.5).set_index("org_id")
    # acme moves 500k opus tokens ($5) to haiku at acme's own $1/M: $0.50; 12 → 7.5
    assert ratios.loc["acme", "what_if_recent_cost_usd"] == pytest.approx(7.5)
    assert ratios.loc["acme", "cost_ratio"] == pytest.approx(0.625)
    assert ratios.loc["globex", "cost_ratio"] == 1.0  # no opus to move
    projections = pd.DataFrame(
        {
            "org_id": ["acme"],
            "month_to_date_usd": [20.0],
            "forecast_remaining_usd": [40.0],
            "projected_month_end_usd": [60.0],
            "budget_usd": [100.0],
        }
    )
    frame = apply_ratio(projections, pd.DataFrame({"org_id": ["acme"], "forecast_usd": [100.0]}), ratios.reset_index())
    assert frame.loc[0, "what_if_forecast_usd"] == pytest.approx(62.5)
    assert frame.loc[0, "what_if_month_end_usd"] == pytest.approx(20 + 40 * 0.625)
    assert frame.loc[0, "saving_usd"] == pytest.approx(37.5)
    with pytest.raises(WhatIfError, match="unknown model 'gpt-9'"):
        mix_cost_ratio(usage, "gpt-9", "haiku", 0.5)
    with pytest.raises(WhatIfError, match="share must be"):
        mix_cost_ratio(usage, "opus", "haiku", 1.5)
    with pytest.raises(WhatIfError, match="SOURCE_MODEL=TARGET_MODEL:SHARE"):
        parse_mix("opus-to-haiku")
    assert parse_mix("a=b:0.25") == ("a", "b", 0.25)


def test_routing_threshold_what_if_by_hand_and_without_a_router(forecast_home):
    evaluation = {
        "threshold": 0.25,
        "cheap_model": "haiku",
        "strong_model": "opus",
        "router_curve": {"strong_share": [0.0, 0.5, 1.0], "cost": [1.0, 2.0, 3.0], "quality": [0.5, 0.8, 0.9]},
    }
    usage = pd.DataFrame(
        {
            "org_id": ["acme"] * 3,
            "model": ["haiku", "opus", "gpt-4o"],
            "total_tokens": [1.0] * 3,
            "cost_usd": [4.0, 4.0, 2.0],
        }
    )
    row = routing_cost_ratio(usage, evaluation, np.array([0.1, 0.2, 0.3, 0.4]), threshold=0.45).iloc[0]
    # half the tasks go strong now (cost 2 per task), all of them at 0.45 (cost 3): routed $8 → $12 of $10 → $14
    assert (row["strong_share_now"], row["strong_share_what_if"]) == (0.5, 1.0)
    assert row["cost_ratio"] == pytest.approx(1.4) and row["quality_what_if"] == pytest.approx(0.9)
    with pytest.raises(WhatIfError, match="needs a trained router"):
        champion_router(Settings(home=forecast_home[0]))  # its MLflow store exists; no router was trained


def _synthetic(days: int, values=None, org: str = "solo") -> pd.DataFrame:
    day = pd.date_range("2026-08-01", periods=days)
    weekly = np.where(day.weekday < 5, 10.0, 1.0) if values is None else np.asarray(values, dtype=float)
    return pd.DataFrame(
        {"org_id": org, "project_id": None, "day": day, "cost_usd": weekly, "total_tokens": weekly * 1000}
    )


def test_too_little_history_and_constant_series_give_a_clear_message_and_no_model():
    budgets = pd.DataFrame({"org_id": ["solo"], "monthly_budget_usd": [100.0]})
    usage = pd.DataFrame(columns=["org_id", "model", "total_tokens", "cost_usd"])
    with pytest.raises(ForecastDataError, match=r"only 20 days of history \(need 28\)"):
        compute_forecasts(_synthetic(20), budgets, usage)
    with pytest.raises(ForecastDataError, match="constant"):
        compute_forecasts(_synthetic(60, values=np.full(60, 5.0)), budgets, usage)
    with pytest.raises(ForecastDataError, match="no usage for org 'nobody'"):
        compute_forecasts(_synthetic(60), budgets, usage, ForecastOptions(org="nobody"))
    assert unusable_reason(np.r_[np.zeros(50), np.ones(5)]) == "only 5 days with usage (need 14)"
    assert unusable_reason(np.where(np.arange(60) % 7 < 5, 10.0, 1.0)) is None
    sparse = np.where(np.arange(100) % 5 == 0, 3.0, 0.0)  # 20 active days of 100: enough days, too intermittent
    assert unusable_reason(sparse).startswith("intermittent usage: 20 of 100 days")
    assert unusable_reason(np.where(np.arange(100) % 2 == 0, 3.0, 0.0)) is None  # every other day: 50% is enough


def test_a_worse_model_is_not_shipped_and_fails_the_check(built_home, tmp_path):
    def overshoot(history, horizon: int) -> np.ndarray:  # a deliberately bad model
        return np.full(horizon, history.y.max() * 5)

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    result = run_forecasts(Settings(home=home), ForecastOptions(), forecaster=overshoot, track=False)
    assert result.verdict.model_wins == 0 and "does not beat the baselines" in result.verdict.reason
    stored = read_ml_table(Settings(home=home), "forecasts", TenantScope.all_orgs())
    assert not stored.empty and "prophet" not in set(stored["model"])  # every series ships its best baseline
    backtests = read_ml_table(Settings(home=home), "forecast_backtests", TenantScope.all_orgs())
    assert not backtests.loc[backtests["forecaster"].isin(["prophet", "combination"]), "shipped"].any()
    checked = materialize(
        [forecasts_asset, forecasts_beat_baselines],
        selection=AssetSelection.checks(forecasts_beat_baselines),
        resources={"warehouse": WarehouseResource(aioa_home=str(home))},
        raise_on_error=False,
    )
    evaluation = checked.get_asset_check_evaluations()[0]
    assert not evaluation.passed and "does not beat the baselines" in evaluation.description
    assert evaluation.severity.value == "WARN"  # the baselines' forecasts are sound; the model adds nothing
    verdict = quality_verdict(backtests)
    assert not verdict.passed and verdict.model_wins == 0 and verdict.series == len(backtests) // 5


def test_cli_json_for_one_org_keeps_the_other_orgs(forecast_home, tmp_path, monkeypatch):
    from aioa.cli import app

    home = tmp_path / "home"  # its own copy: the refit replaces stored rows the other tests read
    shutil.copytree(forecast_home[0], home)
    monkeypatch.setenv("AIOA_HOME", str(home))
    result = CliRunner().invoke(
        app,
        [
            "forecast",
            "--refit",  # fit again (the default shows the stored results)
            "--json",
            "--org",
            "initech",
            "--horizon",
            "14",
            "--what-if-mix",
            "claude-opus-4-6=claude-haiku-4-5-20251001:0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["shipped"] is True and payload["mlflow_run_id"]
    assert {row["org_id"] for row in payload["backtests"]} == {"initech"}
    assert [row["org_id"] for row in payload["budget_projections"]] == ["initech"]
    assert set(payload["forecast_totals"][0]) == {
        "org_id",
        "project_id",
        "metric",
        "forecast_total",
        "first_day",
        "last_day",
    }
    what_if = payload["what_if"][0]
    assert (
        what_if["kind"] == "model_mix"
        and what_if["orgs"][0]["what_if_forecast_usd"] < what_if["orgs"][0]["forecast_usd"]
    )
    stored = read_ml_table(Settings(home=home), "forecasts", TenantScope.all_orgs())
    assert set(stored["org_id"]) == set(ORGS)  # a one-org run replaced initech's rows only
    initech = stored[(stored["org_id"] == "initech") & (stored["kind"] == "forecast") & stored["project_id"].isna()]
    assert initech.groupby("metric").size().max() == 14


def test_cli_without_a_snapshot_exits_2_with_a_message(settings):
    from aioa.cli import app

    result = CliRunner().invoke(app, ["forecast", "--json"])
    assert result.exit_code == 2 and "No forecast" in result.output
