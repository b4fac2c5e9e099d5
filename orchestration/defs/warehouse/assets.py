"""dbt models as Dagster assets (staging → intermediate → marts), and the read snapshot published once per run,
after the marts, their checks and the ML assets."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Config, Failure, MaterializeResult, MetadataValue, asset
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import default_description_fn

from aioa.archive.rekey import encrypt_plain_archive
from aioa.warehouse.dbt.runner import run_failures, settings_file, target_path, write_settings_file
from orchestration.defs.warehouse.project import dbt_project
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.executor import WRITER_TAG

# What the snapshot waits for besides the marts: every ML asset (they read the marts this run built and write their
# ml.* tables to the working warehouse; readers see everything at once, in one published snapshot).
ML_OUTPUTS = [
    AssetKey(["ml", name])
    for name in ("forecasts", "anomalies", "router", "performance_predictor", "capacity_forecast", "routing_drift")
]


class LayerTranslator(DagsterDbtTranslator):
    """Models group by layer (staging, intermediate, marts); raw sources keep the keys the ingest domain declares."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(["raw", dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["fqn"][1], dbt_resource_props["name"]])

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The model's description from its YAML, not a dump of its SQL (the SQL is one click away in dbt docs)."""
        return default_description_fn(dbt_resource_props, display_raw_sql=False)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


class DbtBuildConfig(Config):
    full_refresh: bool = False  # rebuild every incremental model from scratch


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayerTranslator(),
    op_tags=WRITER_TAG,
)
def aioa_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
):
    """`dbt build`: each model is materialised and tested; a failing model or test fails the step, naming each."""
    settings = warehouse.settings()
    if str(settings_file(settings)) not in dbt.global_config_flags:
        raise Failure(
            description=f"the dbt resource is configured for another home than {settings.home}: "
            "build it with dbt_resource(settings)"
        )
    write_settings_file(settings)  # aioa-dbt reads it: dbt's profile variables are set in dbt's process only
    encrypt_plain_archive(settings)  # with a key: dbt reads the archive encrypted (a plain file from before the key)
    invocation = dbt.cli(
        ["build", *(["--full-refresh"] if config.full_refresh else [])],
        context=context,
        target_path=target_path(settings),
        raise_on_error=False,
    )
    yield from invocation.stream()
    if not invocation.is_successful():
        results = invocation.get_artifact("run_results.json")
        failures = run_failures(results)
        reasons = "; ".join(f"{item['node']}: {item['message']}" for item in failures[:5])
        raise Failure(
            description=f"dbt build failed: {reasons or invocation.get_error()}",
            metadata={"failures": MetadataValue.json(failures[:20])},
        )


@asset(
    group_name="serving",
    kinds={"duckdb"},
    deps=[aioa_dbt_models, *ML_OUTPUTS],
    op_tags=WRITER_TAG,
    description="Publishes one immutable read snapshot of the warehouse (DuckDB mode; in PostgreSQL mode a row in "
    "serving.publications) per run, once the marts are built and tested, the error-severity quality checks passed "
    "and the ML tables are written; readers switch to it atomically.",
)
def read_snapshot(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from aioa.quality.gate import failed_error_checks
    from aioa.warehouse.snapshots import publish_snapshot

    settings = warehouse.settings()
    failed = failed_error_checks(settings)
    if failed:
        raise Failure(
            description=f"not publishing: quality checks failed ({', '.join(failed)}); "
            "the previous snapshot stays readable"
        )
    if settings.warehouse == "postgres":  # readers query the server; they move to the version published here
        from aioa.warehouse.pg_reader import publish_postgres

        return MaterializeResult(metadata={"snapshot_version": publish_postgres(settings), "warehouse": "postgres"})
    version = publish_snapshot(settings)
    return MaterializeResult(
        metadata={"snapshot_version": version, "warehouse": MetadataValue.path(str(settings.warehouse_path))}
    )
