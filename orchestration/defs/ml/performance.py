"""Performance prediction and capacity planning as Dagster assets: the per-task success/cost/latency predictor that
`route()` serves (stored under the home, measured on held-out tasks), and the rate-limit plan per org and provider
(ml.capacity_forecast). The logic is in `ml.routing.performance` and `ml.capacity`."""

from dagster import AssetExecutionContext, Definitions, MaterializeResult, MetadataValue, asset

from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.executor import WRITER_TAG


@asset(
    key=["ml", "performance_predictor"],
    group_name="ml",
    kinds={"scikitlearn"},
    deps=[["marts", "fct_handoffs"]],
    op_tags=WRITER_TAG,
    description="Per task and model: calibrated P(success) (Brier against the base rate and a reliability curve on "
    "held-out tasks), and cost and latency with split-conformal 80% intervals (coverage measured on held-out "
    "tasks beside a per-model constant interval); stored under <home>/models/performance for `route()`.",
)
def performance_predictor(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from ml.routing.data import RoutingDataError
    from ml.routing.performance import train_performance
    from ml.routing.predict import reload

    from aioa.warehouse.snapshots import NoSnapshotError

    try:
        predictor = train_performance(warehouse.settings(), publish=False)
    except (RoutingDataError, NoSnapshotError) as error:
        context.log.warning(f"no performance predictor trained: {error}")
        return MaterializeResult(metadata={"trained": False, "message": str(error)})
    reload()
    evaluation = predictor.evaluation
    metadata = {"trained": True, "test_tasks": evaluation["test_tasks"]}
    for row in evaluation["success"]:
        metadata[f"brier__{row['model']}"] = row["brier"]
        metadata[f"brier_base_rate__{row['model']}"] = row["brier_base_rate"]
    for row in evaluation["intervals"]:
        metadata[f"coverage_80__{row['target']}__{row['model']}"] = row["coverage"]
    return MaterializeResult(metadata=metadata)


@asset(
    key=["ml", "capacity_forecast"],
    group_name="ml",
    kinds={"scikitlearn", "pandas"},
    deps=[["marts", "fct_llm_calls"]],
    op_tags=WRITER_TAG,
    description="Per org and provider: the busiest minute's calls and tokens per day, their 90%-quantile trend, and "
    "the day each reaches the configured rate limit (AIOA_PROVIDER_RATE_LIMITS), with a 14-day backtest of the "
    "trend. Stored in ml.capacity_forecast.",
)
def capacity_forecast(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from ml.capacity.forecast import CapacityDataError, store
    from ml.capacity.forecast import capacity_forecast as plan_capacity

    settings = warehouse.settings()
    try:
        plan = plan_capacity(settings, published=False)
    except CapacityDataError as error:
        context.log.warning(f"no capacity plan: {error}")
        return MaterializeResult(metadata={"planned": False, "message": str(error)})
    store(settings, plan, publish=False)  # the run publishes once, at the end
    hits = plan[plan["status"].isin(["exceeded", "at_limit", "will_hit"])]
    return MaterializeResult(
        metadata={
            "planned": True,
            "series": len(plan),
            "limits_reached_or_forecast": len(hits),
            "plan": MetadataValue.md(
                plan[["org_id", "provider", "metric", "observed_peak", "limit", "limit_hit_day", "status"]].to_markdown(
                    index=False
                )
            ),
        }
    )


defs = Definitions(assets=[performance_predictor, capacity_forecast])
