"""Router retraining as a Dagster asset: trained on the snapshot's handoffs, logged to MLflow and promoted only when
it beats the champion and the baselines; a check that fails when the new version did not ship, a weekly schedule,
and a sensor that retrains when enough new verified feedback arrived since the last request."""

import json

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    asset_check,
    define_asset_job,
    sensor,
)

from aioa.settings import Settings
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.executor import WRITER_TAG
from orchestration.retries import STEP_RETRY

ROUTER_KEY = AssetKey(["ml", "router"])


@asset(
    key=ROUTER_KEY,
    group_name="ml",
    kinds={"scikitlearn", "mlflow"},
    deps=[["marts", "fct_handoffs"]],
    op_tags=WRITER_TAG,
    retry_policy=STEP_RETRY,
    description="Router (will the cheap model succeed?) trained on the snapshot's verified handoff outcomes, "
    "evaluated on a held-out split against the baselines, registered in MLflow and promoted to "
    "`champion` only if it beats the current champion and the baselines.",
)
def router(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from ml.routing.data import RoutingDataError
    from ml.routing.predict import reload
    from ml.routing.train import train_router

    from aioa.warehouse.snapshots import NoSnapshotError

    try:
        outcome, evaluation = train_router(warehouse.settings(), publish=False)  # the run publishes once, at the end
    except (RoutingDataError, NoSnapshotError) as error:
        context.log.warning(f"no router trained: {error}")
        return MaterializeResult(metadata={"trained": False, "message": f"no router trained: {error}"})
    reload()  # a process that also serves route() picks up a new champion
    router_metrics = evaluation.routers["router"]
    context.log.info(outcome.reason)
    return MaterializeResult(
        metadata={
            "trained": True,
            "version": outcome.version,
            "promoted": outcome.promoted,
            "message": outcome.reason,
            "mlflow_run_id": outcome.run_id,
            "outcomes": evaluation.outcomes,
            "test_rows": evaluation.test_rows,
            **_known_numbers(
                {key: router_metrics.get(key) for key in ("apgr", "cpt_50", "auc", "brier", "handoff_accuracy")}
            ),
            **_known_numbers({"keyword_apgr": evaluation.routers["keyword_heuristic_v1"].get("apgr")}),
        }
    )


def _known_numbers(values: dict) -> dict[str, float]:
    """Metrics as floats, leaving out those a small evaluation cannot define (e.g. AUC with one outcome class)."""
    import pandas as pd

    return {key: float(value) for key, value in values.items() if value is not None and not pd.isna(value)}


def router_check_result(settings: Settings, version: str) -> AssetCheckResult:
    """Passed when `version` is the champion; an error when it does not beat the baselines, a warning when it only
    does not beat the current champion (which keeps serving). The rule is `ml.routing.tracking`'s."""
    from ml.routing.tracking import promotion_status

    status = promotion_status(settings, version)
    severity = AssetCheckSeverity.WARN if status.severity == "warn" else AssetCheckSeverity.ERROR
    return AssetCheckResult(
        passed=status.passed, severity=severity, metadata=status.metadata, description=status.description
    )


# Not blocking: the read snapshot is downstream, and a router that does not ship must not hold back the marts.
@asset_check(
    asset=router,
    blocking=False,
    description="The version trained by the latest materialisation is the champion: it beat the previous "
    "champion and the baselines (random, keyword heuristic) on the holdout.",
)
def router_beats_champion_and_baselines(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    event = context.instance.get_latest_materialization_event(ROUTER_KEY)
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    if not metadata.get("trained") or not metadata["trained"].value:
        message = metadata["message"].value if "message" in metadata else "the router was never materialised"
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description=message)
    return router_check_result(warehouse.settings(), str(metadata["version"].value))


router_job = define_asset_job(
    "router_retraining",
    selection=AssetSelection.assets(router, "read_snapshot"),
    description="Retrain the router on the snapshot's feedback; promote only if better.",
)
weekly_router_retraining = ScheduleDefinition(
    job=router_job,
    cron_schedule="0 4 * * 1",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)


def verified_outcomes(settings: Settings) -> int | None:
    """Handoffs with a verified outcome in the current snapshot (None without a snapshot)."""
    from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

    try:
        connection, _ = open_snapshot(settings)
    except NoSnapshotError:
        return None
    with connection:
        return int(
            connection.execute(
                "select count(*) from marts.fct_handoffs "
                "where success is not null and coalesce(outcome_verified, false)"
            ).fetchone()[0]
        )


@sensor(
    job=router_job,
    minimum_interval_seconds=600,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests retraining when at least AIOA_ROUTING_RETRAIN_MIN_FEEDBACK new verified handoff "
    "outcomes reached the snapshot since the last request (cursor: the count then).",
)
def new_routing_feedback(context: SensorEvaluationContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    count = verified_outcomes(settings)
    if count is None:
        return SkipReason("no read snapshot yet")
    last = json.loads(context.cursor)["verified_outcomes"] if context.cursor else 0
    new = count - last
    if new < settings.routing_retrain_min_feedback:
        return SkipReason(
            f"{new} new verified outcomes since the last training request; retraining needs "
            f"{settings.routing_retrain_min_feedback}"
        )
    context.update_cursor(json.dumps({"verified_outcomes": count}))
    return RunRequest(run_key=f"routing-feedback-{count}", tags={"aioa/trigger": "new_feedback"})


defs = Definitions(
    assets=[router],
    asset_checks=[router_beats_champion_and_baselines],
    jobs=[router_job],
    schedules=[weekly_router_retraining],
    sensors=[new_routing_feedback],
)
