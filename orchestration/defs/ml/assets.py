"""The ML domain's assets: the router (trained on the snapshot's handoffs, logged to MLflow, promoted only when it
beats the champion and the baselines), forecasts (per org and project series: Prophet and three baselines
backtested, each series ships its winner; month-end projections), anomaly detection (ml.anomalies), the performance
predictor and the capacity plan, and routing drift. The logic is in `ml/`; each asset only calls it."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

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


@asset(
    key=["ml", "forecasts"],
    group_name="ml",
    kinds={"prophet", "statsmodels", "mlflow"},
    deps=[["marts", "agg_usage_daily"], ["marts", "dim_orgs"], ["marts", "fct_llm_calls"]],
    op_tags=WRITER_TAG,
    description="Forecasts of daily tokens and cost per org and project (30 days, 80% intervals): Prophet, "
    "seasonal-naive, the median of the last four same weekdays and ETS, fitted on one cleaned history and "
    "backtested on every series (WAPE, MASE, 80% coverage, month-total error); each series ships its lowest-MASE "
    "model, a series without a backtest is not shipped; month-end spend against budget. Stored in ml.forecasts, "
    "ml.forecast_backtests, ml.budget_projections and logged to MLflow.",
)
def forecasts(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from ml.forecasting.data import ForecastDataError
    from ml.forecasting.run import run_forecasts

    try:
        result = run_forecasts(warehouse.settings(), progress=context.log.info, publish=False)  # the run publishes
    except ForecastDataError as error:  # too little history or constant series: say so, and never hold back
        context.log.warning(f"no forecasts: {error}")  # the run's snapshot of the marts
        return MaterializeResult(metadata={"shipped": False, "skipped": f"no forecasts: {error}"})
    for item in result.skipped:
        context.log.warning(
            f"skipped {item['org_id']}/{item['project_id'] or '(org)'} {item['metric']}: {item['reason']}"
        )
    if not result.verdict.passed:
        context.log.warning(result.verdict.reason)
    shipped = result.backtests[result.backtests["shipped"].astype(bool)]
    return MaterializeResult(
        metadata={
            "shipped": result.shipped,
            "verdict": result.verdict.reason,
            "series_backtested": result.verdict.series,
            "series_prophet_beats_best_baseline": result.verdict.model_wins,
            "series_prophet_15pct_better": result.verdict.target_met,
            "shipped_models": MetadataValue.md(
                shipped[["org_id", "project_id", "metric", "forecaster", "mase", "selection"]].to_markdown(index=False)
            ),
            "series": int(result.forecasts[["org_id", "project_id", "metric"]].drop_duplicates().shape[0]),
            "skipped": len(result.skipped),
            "mlflow_run_id": result.run_id or "",
            "snapshot_version": result.snapshot_version or "",
            "budget_projections": MetadataValue.md(result.projections.to_markdown(index=False))
            if result.shipped
            else "not shipped",
        }
    )


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
