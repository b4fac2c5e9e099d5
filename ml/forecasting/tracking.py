"""MLflow tracking of a forecast run (experiment `aioa-forecasts`): parameters, backtest metrics per series and
model (WAPE, MASE, 80% coverage, month-total error), which model each series ships, the verdict, and artifacts
(forecast plot, backtests, month-end projections)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from aioa.settings import Settings

EXPERIMENT = "aioa-forecasts"


def _experiment(settings: Settings):
    from ml.routing.tracking import configure

    return configure(settings, EXPERIMENT, settings.mlflow_artifacts / "forecasts")


def _metric_name(*parts) -> str:
    return re.sub(r"[^A-Za-z0-9_./ -]", "_", ".".join(str(part) for part in parts))


def log_forecast_run(settings: Settings, result, options) -> str:
    mlflow = _experiment(settings)
    metrics = {}
    for row in result.backtests.itertuples():
        series = (row.org_id, row.project_id or "org", row.metric)
        for name in ("wape", "mase", "coverage_80", "month_total_error"):
            value = getattr(row, name)
            if value is not None and value == value:
                metrics[_metric_name(*series, row.forecaster, name)] = float(value)
        if row.shipped:
            metrics[_metric_name(*series, "prophet_shipped")] = float(row.forecaster == "prophet")
    metrics["series_backtested"] = float(result.verdict.series)
    metrics["series_prophet_beats_best_baseline"] = float(result.verdict.model_wins)
    metrics["series_prophet_15pct_better"] = float(result.verdict.target_met)
    metrics["shipped"] = float(result.shipped)
    with (
        mlflow.start_run(run_name=f"forecast-{result.snapshot_version}") as run,
        tempfile.TemporaryDirectory() as folder,
    ):
        mlflow.log_params(
            options.params() | {"snapshot_version": result.snapshot_version, "series_skipped": len(result.skipped)}
        )
        mlflow.log_metrics(metrics)
        mlflow.set_tag("verdict", result.verdict.reason)
        folder = Path(folder)
        result.backtests.to_csv(folder / "backtests.csv", index=False)
        mlflow.log_artifact(str(folder / "backtests.csv"))
        if result.shipped:
            result.projections.to_csv(folder / "budget_projections.csv", index=False)
            _plot(result.forecasts, folder / "org_cost_forecasts.png")
            mlflow.log_artifact(str(folder / "budget_projections.csv"))
            mlflow.log_artifact(str(folder / "org_cost_forecasts.png"))
        return run.info.run_id


def _plot(forecasts, path: Path) -> None:
    """Daily cost per org: actuals, the fitted/forecast line and its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    org_cost = forecasts[forecasts["project_id"].isna() & (forecasts["metric"] == "cost_usd")]
    orgs = sorted(org_cost["org_id"].unique())
    figure, axes = plt.subplots(len(orgs), 1, figsize=(8, 2.6 * len(orgs)), squeeze=False)
    for axis, org in zip(axes[:, 0], orgs, strict=True):
        series = org_cost[org_cost["org_id"] == org]
        axis.fill_between(series["day"], series["lower"], series["upper"], alpha=0.25, label="80% interval")
        axis.plot(series["day"], series["forecast"], label=f"{series['model'].iloc[0]} (shipped)")
        axis.scatter(series["day"], series["actual"], s=6, color="black", label="actual")
        axis.set(title=org, ylabel="USD per day")
    axes[0, 0].legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
