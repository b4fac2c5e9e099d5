"""Forecasts as a Dagster asset (Prophet per org and project, month-end projections) with a quality check: the
backtest must beat seasonal-naive, otherwise the forecasts are not shipped and the check fails."""

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


@asset(
    key=["ml", "forecasts"],
    group_name="ml",
    kinds={"prophet", "mlflow"},
    deps=[["marts", "agg_usage_daily"], ["marts", "dim_orgs"], ["marts", "fct_llm_calls"]],
    op_tags=WRITER_TAG,
    description="Prophet forecasts of daily tokens and cost per org and project (30 days, 80% intervals), "
    "rolling-origin backtests against seasonal-naive and month-end spend against budget; stored in "
    "ml.forecasts, ml.forecast_backtests, ml.budget_projections and logged to MLflow.",
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
    if not result.shipped:
        context.log.error(result.verdict.reason)
    return MaterializeResult(
        metadata={
            "shipped": result.shipped,
            "verdict": result.verdict.reason,
            "mean_smape_prophet": result.verdict.model_smape,
            "mean_smape_seasonal_naive": result.verdict.naive_smape,
            "series": int(result.forecasts[["org_id", "project_id", "metric"]].drop_duplicates().shape[0]),
            "skipped": len(result.skipped),
            "mlflow_run_id": result.run_id or "",
            "snapshot_version": result.snapshot_version or "",
            "budget_projections": MetadataValue.md(result.projections.to_markdown(index=False))
            if result.shipped
            else "not shipped",
        }
    )


@asset_check(
    asset=forecasts,
    description="The stored backtests: Prophet's mean sMAPE over the org-level series "
    "beats the seasonal-naive baseline's.",
)
def forecasts_beat_seasonal_naive(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    from ml.forecasting.run import quality_verdict

    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table

    backtests = read_ml_table(warehouse.settings(), "forecast_backtests", TenantScope.all_orgs(), published=False)
    if backtests is None:
        return AssetCheckResult(passed=False, description="no backtests stored yet")
    verdict = quality_verdict(backtests)
    return AssetCheckResult(
        passed=verdict.passed,
        description=verdict.reason,
        metadata={"mean_smape_prophet": verdict.model_smape, "mean_smape_seasonal_naive": verdict.naive_smape},
    )


defs = Definitions(assets=[forecasts], asset_checks=[forecasts_beat_seasonal_naive])
