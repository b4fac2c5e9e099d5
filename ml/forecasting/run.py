"""`run_forecasts`: load the series, backtest Prophet and the baselines on every series, ship each series' winner
(a series without a backtest is not shipped), project month-end spend, store and track; the one entry point the
CLI, Dagster and the notebook share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aioa.settings import Settings
from ml.forecasting import backtest, metrics
from ml.forecasting.baselines import BASELINES, LABELS, Forecaster
from ml.forecasting.budget import month_end_projection, remaining_days
from ml.forecasting.data import (
    MIN_HISTORY_DAYS,
    ForecastDataError,
    load_budgets,
    load_daily_series,
    load_recent_model_usage,
    unusable_reason,
)
from ml.forecasting.history import HOLIDAY_COUNTRY, clean_history, on_holidays
from ml.forecasting.model import ProphetConfig, fit, prophet_forecaster

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ForecastOptions:
    horizon: int = 30
    org: str | None = None
    backtest_origins: int = 4
    calibration_origins: int = 2  # earlier origins, not scored: the combination's interval errors start there
    backtest_horizon: int = 14
    backtest_uncertainty_samples: int = 100  # Prophet's 80% interval in backtests (coverage); 300 when shipped
    holidays_country: str | None = HOLIDAY_COUNTRY
    prophet: ProphetConfig = field(default_factory=ProphetConfig)

    def params(self) -> dict:
        return {
            "horizon": self.horizon,
            "org": self.org or "all",
            "backtest_origins": self.backtest_origins,
            "calibration_origins": self.calibration_origins,
            "backtest_horizon": self.backtest_horizon,
            "backtest_uncertainty_samples": self.backtest_uncertainty_samples,
            "holidays_country": self.holidays_country or "none",
            "min_history_days": MIN_HISTORY_DAYS,
            "baselines": ",".join(BASELINES),
            "combination": "mean of " + ",".join(backtest.MEMBERS),
            **self.prophet.params(),
        }


TARGET_IMPROVEMENT = 0.15  # the model's MASE at least 15% below the best baseline's


@dataclass
class QualityVerdict:
    """Per-series model choice summarised: `passed` when the model beats the best baseline on at least half of the
    backtested series (each series ships its own winner either way)."""

    passed: bool
    series: int
    model_wins: int
    target_met: int
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
        """Whether any series' forecast is shipped (each series ships its best backtested model)."""
        return not self.forecasts.empty

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


SERIES_KEYS = ["org_id", "project_id", "metric"]
BACKTEST_COLUMNS = [
    *SERIES_KEYS,
    "forecaster",
    "origins",
    "horizon",
    "days",
    "wape",
    "mase",
    "coverage_80",
    "month_total_error",
    "months",
    "best_baseline",
    "mase_vs_best_baseline",
    "shipped",
    "selection",
]


MODELS = ("prophet", backtest.COMBINATION)  # the candidates measured against the baselines


def select_models(scores: pd.DataFrame, model: str = "prophet") -> pd.DataFrame:
    """One series' scores (a row per forecaster) with the choice: the candidate (Prophet or the combination) with
    the lowest MASE ships if it is below the best baseline's, otherwise the best baseline ships;
    `mase_vs_best_baseline` = 1 − candidate MASE / best baseline MASE, for each candidate."""
    scores = scores.copy()
    candidates = scores[scores["forecaster"].isin({model, *MODELS}) & scores["mase"].notna()]
    if not candidates.empty:
        model = candidates.loc[candidates["mase"].astype(float).idxmin(), "forecaster"]
    baselines = scores[~scores["forecaster"].isin({model, *MODELS}) & scores["mase"].notna()]
    mine = scores.loc[scores["forecaster"] == model, "mase"]
    model_mase = float(mine.iloc[0]) if len(mine) and pd.notna(mine.iloc[0]) else np.nan
    if baselines.empty:
        best, best_mase = None, np.nan
    else:
        best_row = baselines.loc[baselines["mase"].astype(float).idxmin()]
        best, best_mase = best_row["forecaster"], float(best_row["mase"])
    improvement = 1 - model_mase / best_mase if best_mase and best_mase == best_mase else np.nan
    if model_mase == model_mase and (best is None or model_mase < best_mase):
        winner = model
        selection = (
            f"{model} ships: MASE {model_mase:.3f}, {improvement:.1%} below the best baseline ({best} {best_mase:.3f})"
        )
    elif best is not None:
        winner = best
        selection = (
            f"{model} does not beat the best baseline (MASE {model_mase:.3f} vs {best_mase:.3f}): {best} ships instead"
        )
    else:
        winner, selection = None, "no model could be scored (MASE undefined): not shipped"
    scores["best_baseline"] = best
    candidate = scores["forecaster"].isin({model, *MODELS})
    scores["mase_vs_best_baseline"] = np.where(candidate, 1 - scores["mase"].astype(float) / best_mase, np.nan)
    scores["shipped"] = scores["forecaster"] == winner
    scores["selection"] = selection
    return scores


def quality_verdict(backtests: pd.DataFrame, model: str = "prophet") -> QualityVerdict:
    """How often the best candidate (Prophet or the combination, per series) beat the best baseline, and met the
    ≥ 15% MASE target, over the backtested series."""
    if backtests is None or backtests.empty:
        return QualityVerdict(False, 0, 0, 0, "no series has enough history to backtest: nothing is shipped")
    rows = backtests[backtests["forecaster"].isin({model, *MODELS})]
    improvement = rows.groupby(SERIES_KEYS, dropna=False)["mase_vs_best_baseline"].max().astype(float)
    series, wins, target = (
        len(improvement),
        int((improvement > 0).sum()),
        int((improvement >= TARGET_IMPROVEMENT).sum()),
    )
    model = " or ".join(sorted(set(rows["forecaster"])))
    passed = wins * 2 >= series and series > 0
    reason = (
        f"{model} beats the best baseline's MASE on {wins} of {series} series (≥ {TARGET_IMPROVEMENT:.0%} better on "
        f"{target}); "
        + ("each series ships its winner" if passed else "it does not beat the baselines: most series ship a baseline")
    )
    return QualityVerdict(passed, series, wins, target, reason)


def model_comparison(backtests: pd.DataFrame, model: str = "prophet") -> pd.DataFrame:
    """One readable row per series: Prophet against the best baseline (MASE, WAPE, 80% coverage, month-total
    error), the change in MASE, whether the 15% target is met and which model ships."""
    rows = []
    for (org_id, project_id, metric), group in backtests.groupby(SERIES_KEYS, dropna=False, sort=False):
        scores = group.set_index("forecaster")
        if model not in scores.index:
            continue
        mine = scores.loc[model]
        best_name = mine["best_baseline"]
        best = scores.loc[best_name] if best_name in scores.index else None
        shipped = scores.index[scores["shipped"].astype(bool)]
        rows.append(
            {
                "Series": f"{org_id} / {'whole org' if pd.isna(project_id) else project_id}",
                "Metric": {"cost_usd": "Cost", "total_tokens": "Tokens"}.get(metric, metric),
                "Prophet MASE": mine["mase"],
                "Best baseline": LABELS.get(best_name, best_name),
                "Baseline MASE": None if best is None else best["mase"],
                "MASE change": -mine["mase_vs_best_baseline"],
                "≥ 15% better": bool(mine["mase_vs_best_baseline"] >= TARGET_IMPROVEMENT),
                "Prophet WAPE": mine["wape"],
                "Baseline WAPE": None if best is None else best["wape"],
                "Prophet 80% coverage": mine["coverage_80"],
                "Baseline 80% coverage": None if best is None else best["coverage_80"],
                "Prophet month-total error": mine["month_total_error"],
                "Baseline month-total error": None if best is None else best["month_total_error"],
                "Shipped": LABELS.get(shipped[0], shipped[0]) if len(shipped) else "not shipped",
            }
        )
    return pd.DataFrame(rows)


def shipping_problems(forecasts: pd.DataFrame | None, backtests: pd.DataFrame) -> list[str]:
    """Stored forecast series that were not backtested or do not ship their lowest-MASE model (empty = sound)."""
    if forecasts is None or forecasts.empty:
        return []
    keys = backtests.assign(project_id=backtests["project_id"].fillna("(org)"))
    problems = []
    for (org_id, project_id, metric), group in forecasts.assign(
        project_id=forecasts["project_id"].fillna("(org)")
    ).groupby(SERIES_KEYS):
        scores = keys[(keys["org_id"] == org_id) & (keys["project_id"] == project_id) & (keys["metric"] == metric)]
        name = f"{org_id}/{project_id} {metric}"
        if scores.empty:
            problems.append(f"{name} is shipped without a backtest")
            continue
        model = group["model"].iloc[0] if "model" in group else "prophet"
        mase = scores.set_index("forecaster")["mase"].astype(float)
        if model not in mase or not mase[model] <= mase.min():
            problems.append(f"{name} ships {model}, but {mase.idxmin()} has the lowest backtest MASE")
    return problems


def _series(frame: pd.DataFrame, metrics: tuple[str, ...]):
    """(org_id, project_id, metric, history[day, y]) per series; project_id None is the org as a whole."""
    for (org_id, project_id), group in frame.groupby(["org_id", "project_id"], dropna=False, sort=True):
        project = None if pd.isna(project_id) else project_id
        for metric in metrics:
            yield org_id, project, metric, group[["day", metric]].rename(columns={metric: "y"}).reset_index(drop=True)


def backtest_forecasters(options: ForecastOptions, model: Forecaster | None = None) -> dict[str, Forecaster]:
    """The model (Prophet unless a test passes another) and the baselines, as the backtests run them."""
    quick = ProphetConfig(**(options.prophet.params() | {"uncertainty_samples": options.backtest_uncertainty_samples}))
    return {"prophet": model or prophet_forecaster(quick), **BASELINES}


def run_backtests(
    series: list,
    options: ForecastOptions,
    forecaster: Forecaster | None = None,
    progress: Progress = lambda message: None,
    observe: backtest.Observer | None = None,
    intervals: dict | None = None,
) -> tuple[pd.DataFrame, list[dict]]:
    """Rolling-origin and month-total backtests of every series (org and project level), the model, the
    combination and every baseline on the same origins and the same cleaned history; a series without a backtest
    is skipped. `intervals`, when given, receives per series the combination's error quantiles over every origin
    (calibration and reported), for its shipped interval."""
    forecasters = backtest_forecasters(options, forecaster)
    rows, skipped = [], []
    for org_id, project_id, metric, history in series:
        cuts = backtest.origins(history["day"], options.backtest_origins, options.backtest_horizon, MIN_HISTORY_DAYS)
        every = backtest.origins(
            history["day"],
            options.backtest_origins + options.calibration_origins,
            options.backtest_horizon,
            MIN_HISTORY_DAYS,
        )
        calibration = [origin for origin in every if origin not in cuts]
        if not cuts:
            skipped.append(
                {
                    "org_id": org_id,
                    "project_id": project_id,
                    "metric": metric,
                    "stage": "backtest",
                    "reason": f"history too short for a {options.backtest_horizon}-day backtest: not shipped",
                }
            )
            continue
        progress(f"backtesting {org_id}/{project_id or '(org)'} {metric} ({len(cuts)} origins)")
        country = options.holidays_country
        predictions = backtest.rolling_origin(
            history, forecasters, cuts, options.backtest_horizon, country, observe, calibration
        )
        if intervals is not None:
            combined = predictions[predictions["forecaster"] == backtest.COMBINATION]
            errors = pd.DataFrame(
                {
                    "ahead": combined.groupby("origin").cumcount() + 1,
                    "error": (combined["actual"] - combined["forecast"]) / combined["scale"],
                }
            )
            intervals[(org_id, project_id, metric)] = backtest.residual_quantiles(errors, options.backtest_horizon)
        months = backtest.month_totals(
            history, forecasters, backtest.month_origins(history["day"], MIN_HISTORY_DAYS), country
        )
        scores = backtest.score(predictions, months).assign(
            org_id=org_id, project_id=project_id, metric=metric, horizon=options.backtest_horizon
        )
        rows.append(select_models(scores))
    frame = pd.concat(rows, ignore_index=True)[BACKTEST_COLUMNS] if rows else pd.DataFrame(columns=BACKTEST_COLUMNS)
    frame["project_id"] = frame["project_id"].astype("object")
    return frame, skipped


def _interval_samples(ahead: pd.DataFrame, count: int = 1000, seed: int = 0) -> np.ndarray:
    """Samples (days × count) for a model without its own: independent normal days matching the 80% interval."""
    sigma = (ahead["upper"] - ahead["lower"]).to_numpy(dtype=float) / (2 * 1.2816)
    draws = np.random.default_rng(seed).standard_normal((len(ahead), count))
    return np.clip(ahead["forecast"].to_numpy(dtype=float)[:, None] + sigma[:, None] * draws, 0, None)


def fit_series(
    org_id: str,
    project_id: str | None,
    metric: str,
    history: pd.DataFrame,
    options: ForecastOptions,
    budget: float | None,
    model: str = "prophet",
    forecaster: Forecaster | None = None,
    interval: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict | None]:
    """History and the forecast of the series' shipped model (`model`), fitted on the same cleaned history as in
    the backtests; for org-level cost also the month-end row. Prophet also draws its fitted line over the history
    and its predictive samples; a baseline's samples follow its interval."""
    cleaned = clean_history(history, options.holidays_country)
    rest = remaining_days(cleaned.last_day)
    horizon = max(options.horizon, len(rest))  # the forecast always covers the rest of the month
    if model == "prophet" and forecaster is None:
        fitted = fit(cleaned, options.prophet)
        future = fitted.future(horizon)
        past = on_holidays(fitted.predict(history[["day"]].rename(columns={"day": "ds"})), cleaned)
        ahead = on_holidays(fitted.predict(future), cleaned)
        factors = (ahead["forecast"] / fitted.predict(future)["forecast"]).fillna(1.0).to_numpy()
        in_month = ahead["day"].isin(rest).to_numpy()
        samples = fitted.samples(future[in_month]) * factors[in_month, None] if in_month.any() else np.zeros((0, 1))
    elif model == backtest.COMBINATION:
        members = backtest_forecasters(options, forecaster)
        combined = backtest.combine(
            {name: backtest.predict(members[name], cleaned, horizon) for name in backtest.MEMBERS}
        )
        scale = metrics.seasonal_naive_scale(history["y"].to_numpy(dtype=float))
        ahead = backtest.conformal(combined, interval, scale)
        past = pd.DataFrame({"day": history["day"], "forecast": np.nan, "lower": np.nan, "upper": np.nan})
        in_month = ahead["day"].isin(rest).to_numpy()
        samples = _interval_samples(ahead[in_month]) if in_month.any() else np.zeros((0, 1))
    else:
        chosen = forecaster or BASELINES[model]
        ahead = backtest.predict(chosen, cleaned, horizon)
        past = pd.DataFrame({"day": history["day"], "forecast": np.nan, "lower": np.nan, "upper": np.nan})
        in_month = ahead["day"].isin(rest).to_numpy()
        samples = _interval_samples(ahead[in_month]) if in_month.any() else np.zeros((0, 1))
    past = past.assign(actual=history["y"].to_numpy(), kind="history")
    ahead = ahead.assign(actual=np.nan, kind="forecast")
    rows = pd.concat([past, ahead], ignore_index=True).assign(
        org_id=org_id, project_id=project_id, metric=metric, model=model
    )
    projection = None
    if project_id is None and metric == "cost_usd":
        projection = {"org_id": org_id, "model": model} | month_end_projection(
            history, ahead["forecast"].to_numpy()[in_month], samples, budget
        )
    return rows, projection


FORECAST_COLUMNS = ["org_id", "project_id", "metric", "day", "actual", "forecast", "lower", "upper", "kind", "model"]


def compute_forecasts(
    series_frame: pd.DataFrame,
    budgets: pd.DataFrame,
    usage: pd.DataFrame,
    options: ForecastOptions = ForecastOptions(),
    forecaster: Forecaster | None = None,
    progress: Progress = lambda message: None,
    observe: backtest.Observer | None = None,
) -> ForecastRun:
    """Everything but storage and tracking, on frames (testable without a warehouse write). Every series is
    backtested; each ships the model with the lowest backtest MASE (Prophet only where it beats every baseline),
    and a series without a backtest is not shipped."""
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
    intervals: dict = {}
    backtests, backtest_skips = run_backtests(usable, options, forecaster, progress, observe, intervals)
    verdict = quality_verdict(backtests)
    winners = {
        (row.org_id, row.project_id, row.metric): row.forecaster
        for row in backtests[backtests["shipped"].astype(bool)].itertuples()
    }
    budget_by_org = budgets.set_index("org_id")["monthly_budget_usd"].to_dict()
    frames, projections = [], []
    for org_id, project_id, metric, history in usable:
        model = winners.get((org_id, project_id, metric))
        if model is None:
            continue
        progress(f"fitting {org_id}/{project_id or '(org)'} {metric} ({model})")
        rows, projection = fit_series(
            org_id,
            project_id,
            metric,
            history,
            options,
            budget_by_org.get(org_id),
            model,
            forecaster if model in MODELS else None,
            intervals.get((org_id, project_id, metric)),
        )
        frames.append(rows)
        if projection:
            projections.append(projection)
    forecasts = (
        pd.concat(frames, ignore_index=True)[FORECAST_COLUMNS] if frames else pd.DataFrame(columns=FORECAST_COLUMNS)
    )
    forecasts["day"] = pd.to_datetime(forecasts["day"]).dt.date
    return ForecastRun(forecasts, backtests, pd.DataFrame(projections), usage, skipped + backtest_skips, verdict)


def run_forecasts(
    settings: Settings,
    options: ForecastOptions = ForecastOptions(),
    forecaster: Forecaster | None = None,
    progress: Progress = lambda message: None,
    track: bool = True,
    publish: bool = True,
) -> ForecastRun:
    """Read the snapshot, compute, store `ml.forecasts` (each series' shipped model, named in `model`),
    `ml.forecast_backtests` (every model's metrics per series, which one ships and why), `ml.budget_projections`
    and log one MLflow run. `publish=False` (the pipeline's
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
