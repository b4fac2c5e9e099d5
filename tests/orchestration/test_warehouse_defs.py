"""Dagster runs the whole pipeline: ingest assets, dbt models (with their tests), GE asset checks, the snapshot."""

from __future__ import annotations

import shutil

from dagster import AssetKey, materialize
from orchestration.defs.ingest.assets import INGEST_ASSETS, raw_tables
from orchestration.defs.ingest.resources import UsageLogsResource
from orchestration.defs.warehouse.assets import aioa_dbt_models, read_snapshot
from orchestration.defs.warehouse.checks import mart_quality_checks
from orchestration.defs.warehouse.resources import WarehouseResource, dbt_resource


def test_all_assets_materialise_with_checks_and_publish_a_snapshot(sample_dir, tmp_path):
    from aioa.settings import Settings
    from aioa.warehouse.snapshots import open_snapshot

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(sample_dir / "attribution.yaml", home / "attribution.yaml")
    logs = UsageLogsResource(
        aioa_home=str(home),
        claude_code_dirs=",".join(str(p) for p in sorted(sample_dir.glob("claude-code/*/.claude"))),
        handoff_paths=str(sample_dir / "handoffs"),
        otel_paths=str(sample_dir / "otel"),
    )
    result = materialize(
        [*INGEST_ASSETS.values(), raw_tables, aioa_dbt_models, mart_quality_checks, read_snapshot],
        resources={
            "usage_logs": logs,
            "dbt": dbt_resource(Settings(home=home)),
            "warehouse": WarehouseResource(aioa_home=str(home)),
        },
    )
    assert result.success
    checks = {evaluation.check_name: evaluation.passed for evaluation in result.get_asset_check_evaluations()}
    assert checks["raw_schema_drift"] and checks["usage_volume"]
    assert checks["unique_fct_llm_calls_call_key"]  # dbt tests show up as asset checks too
    snapshot = result.asset_materializations_for_node("read_snapshot")[0].metadata["snapshot_version"].value
    connection, version = open_snapshot(Settings(home=home))
    with connection:
        assert version == snapshot
        assert (
            connection.execute("select sum(calls) from marts.agg_usage_daily").fetchone()[0]
            == connection.execute("select count(*) from raw.llm_calls").fetchone()[0]
        )
    assert AssetKey(["marts", "fct_llm_calls"]) in {
        materialization.asset_key
        for materialization in result.get_asset_materialization_events()
        for materialization in [materialization.materialization]
    }
