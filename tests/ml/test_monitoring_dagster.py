"""The performance predictor, capacity plan and routing drift as Dagster assets on the built sample: each run
materialises them into the run's warehouse (the run publishes once, after them), with per-org rows."""

from __future__ import annotations

import shutil

from dagster import materialize
from ml.routing import performance
from orchestration.defs.ml.assets import capacity_forecast, performance_predictor, routing_drift
from orchestration.defs.warehouse.resources import WarehouseResource

from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.ml_tables import read_ml_table


def test_the_assets_store_their_results_for_the_run_to_publish(built_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    result = materialize(
        [performance_predictor, capacity_forecast, routing_drift],
        resources={"warehouse": WarehouseResource(aioa_home=str(home))},
    )
    assert result.success
    settings = Settings(home=home)
    predictor = performance.load(home)
    assert predictor is not None and predictor.evaluation["success"] and predictor.evaluation["intervals"]
    orgs = {"acme", "globex", "initech"}
    drift = read_ml_table(settings, "routing_drift", TenantScope.all_orgs(), published=False)
    assert set(drift["org_id"]) == orgs and set(drift["metric"]) >= {"task_type_mix", "success_rate"}
    plan = read_ml_table(settings, "capacity_forecast", TenantScope.all_orgs(), published=False)
    assert orgs <= set(plan["org_id"]) and set(plan["metric"]) == {"calls_per_minute", "tokens_per_minute"}
    assert read_ml_table(settings, "routing_drift", TenantScope.all_orgs()) is None  # not published by the assets
    scoped = read_ml_table(settings, "capacity_forecast", TenantScope.for_orgs("acme"), published=False)
    assert set(scoped["org_id"]) == {"acme"}
