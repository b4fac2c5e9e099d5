"""Anomaly detection as a Dagster asset (ml.anomalies, logged to MLflow) with checks on its quality: against the
sample's labelled anomalies precision and recall must reach 0.9, and every anomaly must name what drove it."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.executor import WRITER_TAG

QUALITY_BAR = 0.9


@asset(
    key=["ml", "anomalies"],
    group_name="ml",
    kinds={"pandas", "mlflow"},
    deps=[["marts", "agg_usage_hourly"], ["marts", "agg_usage_daily"]],
    op_tags=WRITER_TAG,
    description="Cost spikes, usage surges, error bursts, runaway agents (hourly and daily) and latency "
    "degradation (daily) per org, from robust seasonal scores, each with the project, model and user "
    "that drove it; stored in ml.anomalies and logged to MLflow (experiment aioa-anomalies).",
)
def anomalies(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from ml.anomalies.data import AnomalyDataError
    from ml.anomalies.run import default_labels, run_detection

    settings = warehouse.settings()
    try:
        run = run_detection(settings, labels=default_labels(settings), publish=False)  # the run publishes, at the end
    except AnomalyDataError as error:
        context.log.warning(f"no anomaly detection: {error}")
        return MaterializeResult(metadata={"skipped": str(error)})
    metadata = {
        "anomalies": len(run.anomalies),
        "snapshot_version": run.snapshot or "",
        "mlflow_run_id": run.run_id or "",
        "by_kind": MetadataValue.json(run.anomalies["kind"].value_counts().to_dict()),
    }
    if run.evaluation is not None:
        metadata |= {"precision": run.evaluation.precision, "recall": run.evaluation.recall}
    return MaterializeResult(metadata=metadata)


@asset_check(
    asset=anomalies,
    description=f"Against the sample's labelled anomalies (when present): precision and "
    f"recall of at least {QUALITY_BAR}.",
)
def anomalies_match_labels(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    from ml.anomalies.evaluate import load_labels, score
    from ml.anomalies.run import default_labels

    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table

    settings = warehouse.settings()
    stored = read_ml_table(settings, "anomalies", TenantScope.all_orgs(), published=False)
    if stored is None:
        return AssetCheckResult(passed=False, description="no anomalies stored yet (the detection was skipped)")
    labels = default_labels(settings)
    if labels is None:
        return AssetCheckResult(passed=True, description="no labelled anomalies in this home: quality not measured")
    result = score(stored, load_labels(labels))
    passed = result.precision >= QUALITY_BAR and result.recall >= QUALITY_BAR
    return AssetCheckResult(
        passed=passed,
        description=f"precision {result.precision:.2f}, recall {result.recall:.2f}",
        metadata={
            "precision": result.precision,
            "recall": result.recall,
            "missed": MetadataValue.json(result.missed),
            "unmatched": MetadataValue.json(result.unmatched),
        },
    )


@asset_check(asset=anomalies, description="Every stored anomaly names the project, model and user that drove it.")
def anomalies_name_their_drivers(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table

    stored = read_ml_table(warehouse.settings(), "anomalies", TenantScope.all_orgs(), published=False)
    if stored is None:
        return AssetCheckResult(passed=False, description="no anomalies stored yet (the detection was skipped)")
    missing = stored[stored[["driver_project", "driver_model", "driver_user"]].isna().any(axis=1)]
    return AssetCheckResult(
        passed=missing.empty,
        description=f"{len(missing)} of {len(stored)} without drivers",
        metadata={"without_drivers": len(missing)},
    )


defs = Definitions(assets=[anomalies], asset_checks=[anomalies_match_labels, anomalies_name_their_drivers])
