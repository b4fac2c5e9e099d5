"""Forecasts as a Dagster asset (per org and project series: Prophet and three baselines backtested, each series
ships its winner; month-end projections) with a quality check: every shipped series was backtested and ships its
lowest-MASE model (error), and Prophet beats the best baseline on at least half of the series (warning)."""

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


@asset_check(
    asset=forecasts,
    description="Every stored forecast series has a backtest and ships its lowest-MASE model (error); Prophet beats "
    "the best baseline's MASE on at least half of the backtested series (warning: the baselines ship otherwise).",
)
def forecasts_beat_baselines(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    from ml.forecasting.run import quality_verdict, shipping_problems

    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table

    settings = warehouse.settings()
    backtests = read_ml_table(settings, "forecast_backtests", TenantScope.all_orgs(), published=False)
    if backtests is None:
        return AssetCheckResult(passed=False, description="no backtests stored yet")
    stored = read_ml_table(settings, "forecasts", TenantScope.all_orgs(), published=False)
    problems = shipping_problems(stored, backtests)
    verdict = quality_verdict(backtests)
    metadata = {
        "series_backtested": verdict.series,
        "series_prophet_beats_best_baseline": verdict.model_wins,
        "series_prophet_15pct_better": verdict.target_met,
    }
    if problems:
        return AssetCheckResult(passed=False, description="; ".join(problems[:5]), metadata=metadata)
    return AssetCheckResult(
        passed=verdict.passed,
        severity=AssetCheckSeverity.WARN,
        description=verdict.reason,
        metadata=metadata,
    )


defs = Definitions(assets=[forecasts], asset_checks=[forecasts_beat_baselines])
