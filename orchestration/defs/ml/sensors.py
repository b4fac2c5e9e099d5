"""The ML domain's sensors: retrain the router when enough new verified feedback reached the snapshot since the last
request (cursor: the count then)."""

import json

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from aioa.settings import Settings
from orchestration.defs.ml.jobs import router_job
from orchestration.defs.warehouse.resources import WarehouseResource


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
