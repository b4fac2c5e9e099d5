"""MLflow tracking of a forecast run (experiment `aioa-forecasts`): parameters, backtest metrics per series, the
quality verdict, and artifacts (forecast plot, backtests, month-end projections)."""

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
        for name in ("smape", "mape"):
            value = getattr(row, name)
            if value is not None and value == value:
                metrics[_metric_name(row.org_id, row.metric, row.forecaster, name)] = float(value)
    if result.verdict.model_smape is not None:
        metrics["mean_smape_prophet"] = result.verdict.model_smape
        metrics["mean_smape_seasonal_naive"] = result.verdict.naive_smape
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
        axis.plot(series["day"], series["forecast"], label="Prophet")
        axis.scatter(series["day"], series["actual"], s=6, color="black", label="actual")
        axis.set(title=org, ylabel="USD per day")
    axes[0, 0].legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
