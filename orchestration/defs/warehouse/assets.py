"""dbt models as Dagster assets (staging → intermediate → marts), and the read snapshot published after them."""

import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from aioa.settings import Settings
from aioa.warehouse.dbt.runner import DBT_PROJECT_DIR, dbt_env, dbt_executable
from orchestration.defs.warehouse.project import ensure_manifest
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.executor import WRITER_TAG

MANIFEST = ensure_manifest(Settings())


class LayerTranslator(DagsterDbtTranslator):
    """Models group by layer (staging, intermediate, marts); raw sources keep the keys the ingest domain declares."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(["raw", dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["fqn"][1], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


@dbt_assets(manifest=MANIFEST, dagster_dbt_translator=LayerTranslator(), op_tags=WRITER_TAG)
def aioa_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """`dbt build`: each model is materialised and tested; a failing model or test fails its step with the reason."""
    settings = warehouse.settings()
    os.environ.update(dbt_env(settings))  # this run's process only: dbt reads its profile from these
    if settings.warehouse == "postgres":
        from aioa.warehouse.postgres import sync_raw_to_postgres

        context.log.info(f"copied to PostgreSQL: {sync_raw_to_postgres(settings)}")
    yield from dbt.cli(["build"], context=context).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                          dbt_executable=dbt_executable())


@asset(group_name="serving", kinds={"duckdb"}, deps=[aioa_dbt_models], op_tags=WRITER_TAG,
       description="Publishes an immutable read snapshot of the warehouse (DuckDB mode) once the marts are built and "
                   "the latest error-severity quality checks passed; readers switch to it atomically.")
def read_snapshot(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from aioa.quality.gate import failed_error_checks
    from aioa.warehouse.snapshots import publish_snapshot

    settings = warehouse.settings()
    failed = failed_error_checks(settings)
    if failed:
        raise Failure(description=f"not publishing: quality checks failed ({', '.join(failed)}); "
                                  "the previous snapshot stays readable")
    if settings.warehouse != "duckdb":
        return MaterializeResult(metadata={"skipped": "PostgreSQL mode: readers query the server directly"})
    version = publish_snapshot(settings)
    return MaterializeResult(metadata={"snapshot_version": version,
                                       "warehouse": MetadataValue.path(str(settings.warehouse_path))})
