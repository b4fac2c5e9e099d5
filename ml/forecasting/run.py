"""`run_forecasts`: load the series, backtest, gate on quality, fit, project month-end spend, store and track;
the one entry point the CLI, Dagster and the notebook share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aioa.settings import Settings
from ml.forecasting import backtest
from ml.forecasting.budget import month_end_projection, remaining_days
from ml.forecasting.data import (
    MIN_HISTORY_DAYS,
    ForecastDataError,
    load_budgets,
    load_daily_series,
    load_recent_model_usage,
    unusable_reason,
)
from ml.forecasting.model import ProphetConfig, fit, prophet_forecaster

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ForecastOptions:
    horizon: int = 30
    org: str | None = None
    backtest_origins: int = 4
    backtest_horizon: int = 14
    prophet: ProphetConfig = field(default_factory=ProphetConfig)

    def params(self) -> dict:
        return {
            "horizon": self.horizon,
            "org": self.org or "all",
            "backtest_origins": self.backtest_origins,
            "backtest_horizon": self.backtest_horizon,
            "min_history_days": MIN_HISTORY_DAYS,
            **self.prophet.params(),
        }


@dataclass
class QualityVerdict:
    passed: bool
    model_smape: float | None
    naive_smape: float | None
    reason: str


@dataclass
class ForecastRun:
    forecasts: pd.DataFrame
    backtests: pd.DataFrame
    projections: pd.DataFrame
    usage: pd.DataFrame  # recent tokens and cost per org and model, for what-ifs
    skipped: list[dict]
    verdict: QualityVerdict
    snapshot_version: str | None = None
    run_id: str | None = None

    @property
    def shipped(self) -> bool:
        return self.verdict.passed

    def forecast_totals(self) -> pd.DataFrame:
        """Per series: the sum of the point forecasts over the horizon."""
        ahead = self.forecasts[self.forecasts["kind"] == "forecast"]
        return (
            ahead.groupby(["org_id", "project_id", "metric"], dropna=False)
            .agg(forecast_total=("forecast", "sum"), first_day=("day", "min"), last_day=("day", "max"))
            .reset_index()
        )

    def to_dict(self) -> dict:
        def records(frame: pd.DataFrame) -> list[dict]:
            return [
                {key: (None if isinstance(value, float) and np.isnan(value) else value) for key, value in row.items()}
                for row in frame.to_dict("records")
            ]

        return {
            "snapshot_version": self.snapshot_version,
            "mlflow_run_id": self.run_id,
            "shipped": self.shipped,
            "quality": self.verdict.__dict__,
            "skipped": self.skipped,
            "backtests": records(self.backtests),
            "budget_projections": records(self.projections),
            "forecast_totals": records(self.forecast_totals()),
        }


def quality_verdict(backtests: pd.DataFrame) -> QualityVerdict:
    """The model ships only if its mean backtest sMAPE over the org-level series beats seasonal-naive's."""
    org_level = backtests[backtests["project_id"].isna()] if len(backtests) else backtests
    if org_level.empty:
        return QualityVerdict(False, None, None, "no org-level series has enough history to backtest")
    means = org_level.groupby("forecaster")["smape"].mean()
    model, naive = float(means.get("prophet", np.nan)), float(means.get("seasonal_naive", np.nan))
    if not model < naive:
        return QualityVerdict(
            False,
            model,
            naive,
            f"backtest sMAPE {model:.3f} does not beat seasonal-naive {naive:.3f}: the forecasts are not shipped",
        )
    return QualityVerdict(True, model, naive, f"backtest sMAPE {model:.3f} beats seasonal-naive {naive:.3f}")


def _series(frame: pd.DataFrame, metrics: tuple[str, ...]):
    """(org_id, project_id, metric, history[day, y]) per series; project_id None is the org as a whole."""
    for (org_id, project_id), group in frame.groupby(["org_id", "project_id"], dropna=False, sort=True):
        project = None if pd.isna(project_id) else project_id
        for metric in metrics:
            yield org_id, project, metric, group[["day", metric]].rename(columns={metric: "y"}).reset_index(drop=True)


def run_backtests(
    series: list,
    options: ForecastOptions,
    forecaster: backtest.Forecaster | None = None,
    progress: Progress = lambda message: None,
) -> tuple[pd.DataFrame, list[dict]]:
    """Rolling-origin backtests of the org-level series: the model and seasonal-naive on the same origins."""
    quick = ProphetConfig(**(options.prophet.params() | {"uncertainty_samples": 0}))  # points only: faster
    forecasters = {"prophet": forecaster or prophet_forecaster(quick), "seasonal_naive": backtest.seasonal_naive}
    rows, skipped = [], []
    for org_id, project_id, metric, history in series:
        if project_id is not None:
            continue
        cuts = backtest.origins(history["day"], options.backtest_origins, options.backtest_horizon, MIN_HISTORY_DAYS)
        if not cuts:
            skipped.append(
                {
                    "org_id": org_id,
                    "project_id": None,
                    "metric": metric,
                    "stage": "backtest",
                    "reason": f"history too short for a {options.backtest_horizon}-day backtest",
                }
            )
            continue
        progress(f"backtesting {org_id} {metric} ({len(cuts)} origins)")
        scores = backtest.score(backtest.rolling_origin(history, forecasters, cuts, options.backtest_horizon))
        rows.append(scores.assign(org_id=org_id, project_id=None, metric=metric, horizon=options.backtest_horizon))
    columns = [
        "org_id",
        "project_id",
        "metric",
        "forecaster",
        "origins",
        "horizon",
        "days",
        "mape_days",
        "mape",
        "smape",
    ]
    frame = pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)
    naive = frame[frame["forecaster"] == "seasonal_naive"].set_index(["org_id", "metric"])["smape"]
    frame["beats_naive"] = [
        row.smape < naive.get((row.org_id, row.metric), np.nan) if row.forecaster == "prophet" else None
        for row in frame.itertuples()
    ]
    frame["project_id"] = frame["project_id"].astype("object")
    return frame, skipped


def fit_series(
    org_id: str,
    project_id: str | None,
    metric: str,
    history: pd.DataFrame,
    options: ForecastOptions,
    budget: float | None,
) -> tuple[pd.DataFrame, dict | None]:
    """History with fitted values and the forecast for one series; for org-level cost also the month-end row."""
    fitted = fit(history, options.prophet)
    rest = remaining_days(fitted.last_day)
    horizon = max(options.horizon, len(rest))  # the forecast always covers the rest of the month
    future = fitted.future(horizon)
    past = fitted.predict(history[["day"]].rename(columns={"day": "ds"})).assign(
        actual=history["y"].to_numpy(), kind="history"
    )
    ahead = fitted.predict(future).assign(actual=np.nan, kind="forecast")
    rows = pd.concat([past, ahead], ignore_index=True).assign(org_id=org_id, project_id=project_id, metric=metric)
    projection = None
    if project_id is None and metric == "cost_usd":
        in_month = ahead["day"].isin(rest).to_numpy()
        samples = fitted.samples(future[in_month]) if in_month.any() else np.zeros((0, 1))
        projection = {"org_id": org_id} | month_end_projection(
            history, ahead["forecast"].to_numpy()[in_month], samples, budget
        )
    return rows, projection


FORECAST_COLUMNS = ["org_id", "project_id", "metric", "day", "actual", "forecast", "lower", "upper", "kind"]


def compute_forecasts(
    series_frame: pd.DataFrame,
    budgets: pd.DataFrame,
    usage: pd.DataFrame,
    options: ForecastOptions = ForecastOptions(),
    forecaster: backtest.Forecaster | None = None,
    progress: Progress = lambda message: None,
) -> ForecastRun:
    """Everything but storage and tracking, on frames (testable without a warehouse write)."""
    if options.org is not None:
        if options.org not in set(series_frame["org_id"]):
            known = ", ".join(sorted(series_frame["org_id"].unique()))
            raise ForecastDataError(f"no usage for org {options.org!r} (orgs with usage: {known or 'none'})")
        series_frame = series_frame[series_frame["org_id"] == options.org]
        usage = usage[usage["org_id"] == options.org]
    if series_frame.empty:
        raise ForecastDataError("no daily usage in the warehouse: ingest logs and run `aioa run` first")
    usable, skipped = [], []
    for org_id, project_id, metric, history in _series(series_frame, ("cost_usd", "total_tokens")):
        reason = unusable_reason(history["y"])
        if reason:
            skipped.append(
                {"org_id": org_id, "project_id": project_id, "metric": metric, "stage": "fit", "reason": reason}
            )
        else:
            usable.append((org_id, project_id, metric, history))
    if not usable:
        raise ForecastDataError(
            "no series can be forecast: "
            + "; ".join(
                f"{item['org_id']}/{item['project_id'] or '(org)'} {item['metric']}: {item['reason']}"
                for item in skipped[:6]
            )
        )
    backtests, backtest_skips = run_backtests(usable, options, forecaster, progress)
    verdict = quality_verdict(backtests)
    empty = ForecastRun(
        pd.DataFrame(columns=FORECAST_COLUMNS), backtests, pd.DataFrame(), usage, skipped + backtest_skips, verdict
    )
    if not verdict.passed:
        return empty
    budget_by_org = budgets.set_index("org_id")["monthly_budget_usd"].to_dict()
    frames, projections = [], []
    for org_id, project_id, metric, history in usable:
        progress(f"fitting {org_id}/{project_id or '(org)'} {metric}")
        rows, projection = fit_series(org_id, project_id, metric, history, options, budget_by_org.get(org_id))
        frames.append(rows)
        if projection:
            projections.append(projection)
    forecasts = pd.concat(frames, ignore_index=True)[FORECAST_COLUMNS]
    forecasts["day"] = pd.to_datetime(forecasts["day"]).dt.date
    return ForecastRun(forecasts, backtests, pd.DataFrame(projections), usage, empty.skipped, verdict)


def run_forecasts(
    settings: Settings,
    options: ForecastOptions = ForecastOptions(),
    forecaster: backtest.Forecaster | None = None,
    progress: Progress = lambda message: None,
    track: bool = True,
    publish: bool = True,
) -> ForecastRun:
    """Read the snapshot, compute, store `ml.forecasts`, `ml.forecast_backtests`, `ml.budget_projections` (the
    first and last only when the model beats seasonal-naive) and log one MLflow run. `publish=False` (the pipeline's
    asset): read the marts the run just built, leave publishing to the run (`aioa.warehouse.snapshots.open_marts`)."""
    from aioa.warehouse.ml_tables import write_ml_tables
    from aioa.warehouse.snapshots import open_marts

    connection, version = open_marts(settings, published=publish)
    with connection:
        series_frame = load_daily_series(connection)
        budgets = load_budgets(connection)
        usage = load_recent_model_usage(connection)
    result = compute_forecasts(series_frame, budgets, usage, options, forecaster, progress)
    result.snapshot_version = version
    if track:
        from ml.forecasting.tracking import log_forecast_run

        progress("logging to MLflow")
        result.run_id = log_forecast_run(settings, result, options)
    tables = {"forecast_backtests": result.backtests}
    if result.shipped:
        tables |= {"forecasts": result.forecasts, "budget_projections": result.projections}
    if options.org is not None:
        tables = {name: _keep_other_orgs(settings, name, frame, options.org, publish) for name, frame in tables.items()}
    progress("storing and publishing")
    result.snapshot_version = write_ml_tables(settings, tables, publish=publish) or version
    return result


def _keep_other_orgs(
    settings: Settings, name: str, frame: pd.DataFrame, org: str, published: bool = True
) -> pd.DataFrame:
    """A run for one org replaces that org's rows only; the other orgs' stored rows stay."""
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table

    stored = read_ml_table(settings, name, TenantScope.all_orgs(), published=published)
    if stored is None or stored.empty or list(stored.columns) != list(frame.columns):
        return frame
    return pd.concat([stored[stored["org_id"] != org], frame], ignore_index=True)
