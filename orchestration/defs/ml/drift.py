"""Drift of routed tasks as a Dagster asset, next to the router: feature drift (PSI of task-type mix, text length and
TF-IDF projections) and outcome drift (success-rate change with a 99% interval) per org, stored in ml.routing_drift on
every pipeline run. The logic is `ml.routing.drift`'s; `drift_events()` there serves the rules engine."""

from dagster import AssetExecutionContext, Definitions, MaterializeResult, MetadataValue, asset

from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.executor import WRITER_TAG


@asset(
    key=["ml", "routing_drift"],
    group_name="ml",
    kinds={"scikitlearn", "pandas"},
    deps=[["marts", "fct_handoffs"]],
    op_tags=WRITER_TAG,
    description="Per org, the last 14 days of routed tasks against the 42 days before: PSI of the task-type mix, "
    "text length and three TF-IDF projections (flagged at PSI >= 0.1 with a chi-square p < 0.01) and the verified "
    "success-rate change with a 99% Newcombe interval (flagged at >= 5 points when it excludes 0). Stored in "
    "ml.routing_drift; flagged rows are drift events for automations.",
)
def routing_drift(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from ml.routing.drift import compute_and_store, events_from_frame

    from aioa.warehouse.snapshots import NoSnapshotError

    try:
        frame = compute_and_store(warehouse.settings(), publish=False)  # the run publishes once, at the end
    except NoSnapshotError as error:
        context.log.warning(f"no drift computed: {error}")
        return MaterializeResult(metadata={"computed": False, "message": str(error)})
    events = events_from_frame(frame)
    for event in events:
        context.log.warning(f"{event.org_id}: {event.message} ({event.severity})")
    return MaterializeResult(
        metadata={
            "computed": True,
            "orgs": int(frame["org_id"].nunique()) if not frame.empty else 0,
            "events": len(events),
            "drift": MetadataValue.md(
                frame[["org_id", "metric", "value", "severity"]].to_markdown(index=False) if not frame.empty else "none"
            ),
        }
    )


defs = Definitions(assets=[routing_drift])
