"""Anomaly detection as a Dagster asset (ml.anomalies, logged to MLflow) with checks on its quality: against the
sample's labelled anomalies precision and recall of the anomalies of at least 3x must reach 0.9; without labels
(real data) the alert volume per org-month and its stability are reported and a volume out of band warns; every
anomaly must name what drove it."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
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
STRONG = 3.0  # issue 14: recall >= 0.9 is the target for anomalies of at least 3x (smaller ones are reported)


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
    description=f"With labelled anomalies (the sample): precision and recall of the anomalies of at least {STRONG:g}x "
    f"reach {QUALITY_BAR}. Without labels (real data): the alert volume per org-month and its last 30 days against "
    "the 60 before, as metadata; a volume out of band warns (quality is not measured, so never claimed).",
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
        return _alert_volume_check(settings, stored)
    label_frame = load_labels(labels)
    # labels written before magnitudes were drawn (all 6x and more) count as strong
    magnitude = label_frame["magnitude"].fillna(STRONG) if "magnitude" in label_frame else STRONG
    strong = label_frame[magnitude >= STRONG] if len(label_frame) else label_frame
    result, strong_result = score(stored, label_frame), score(stored, strong)
    passed = result.precision >= QUALITY_BAR and strong_result.recall >= QUALITY_BAR
    return AssetCheckResult(
        passed=passed,
        description=f"precision {result.precision:.2f}, recall {strong_result.recall:.2f} at >= {STRONG:g}x "
        f"({strong_result.found_labels}/{strong_result.labels}), {result.recall:.2f} over all labels",
        metadata={
            "precision": result.precision,
            "recall": strong_result.recall,
            "recall_all_magnitudes": result.recall,
            "missed": MetadataValue.json(result.missed),
            "unmatched": MetadataValue.json(result.unmatched),
        },
    )


def _alert_volume_check(settings, stored) -> AssetCheckResult:
    from ml.anomalies.volume import alert_volume

    from aioa.warehouse.snapshots import open_marts

    connection, _ = open_marts(settings, published=False)
    with connection:
        org_days = connection.execute("select distinct org_id, day from marts.agg_usage_daily").df()
    volume = alert_volume(stored, org_days)

    def shown(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    return AssetCheckResult(
        passed=volume["in_band"],
        severity=AssetCheckSeverity.WARN,
        description=f"no labels: quality not measured. {volume['alerts']} alerts, "
        f"{shown(volume['alerts_per_org_month'])} per org-month (band <= {volume['band_per_org_month']:g}); "
        f"last 30 days {shown(volume['recent_per_org_month'])} vs {shown(volume['trailing_per_org_month'])} before",
        metadata={key: value for key, value in volume.items() if value is not None},
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
