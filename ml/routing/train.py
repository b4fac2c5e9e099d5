"""Train, evaluate, log and (maybe) promote a router from the warehouse's handoffs: the one entry point the CLI and
Dagster share."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from aioa.settings import Settings
from ml.routing.data import SPLITS, RoutingData, attach_templates, from_handoffs
from ml.routing.evaluate import evaluate
from ml.routing.tracking import TrainingOutcome, log_training


def load_handoffs(settings: Settings, *, published: bool = True) -> pd.DataFrame:
    """Handoffs from the current read snapshot (the mart `fct_handoffs`; inside a pipeline run, `published=False`,
    from the marts that run built: see `aioa.warehouse.snapshots.open_marts`)."""
    from aioa.warehouse.snapshots import open_marts

    connection, _ = open_marts(settings, published=published)
    with connection:
        # in a fixed order: the fit (calibration folds, solvers) depends on row order, and DuckDB's parallel scan
        # returns rows in no particular order, so an unordered read trained a different router from the same data
        return connection.execute("select * from marts.fct_handoffs order by ts_utc, handoff_id").df()


def load_truth(settings: Settings) -> pd.DataFrame | None:
    """The generator's true success probabilities, when the data is the generated sample."""
    path = settings.home / "sample" / "labels" / "routing_truth.csv"
    return pd.read_csv(path) if path.exists() else None


def train_router(
    settings: Settings,
    data: RoutingData | None = None,
    truth: pd.DataFrame | None = None,
    seed: int = 42,
    *,
    publish: bool = True,
) -> tuple[TrainingOutcome, object]:
    """`publish=False` (the pipeline's asset): read the run's marts, store without publishing (the run publishes)."""
    if data is None:
        data = from_handoffs(load_handoffs(settings, published=publish))
        truth = truth if truth is not None else _matching_truth(load_truth(settings), data)
    # Generated data: held-out templates never seen in training (the same task text cannot sit on both sides).
    split = "template" if truth is not None and "template_id" in truth else "task"
    if split == "template":
        data = attach_templates(data, truth)
    evaluation = evaluate(data, truth, seed, split=split)
    _, test = SPLITS[split](data.frame, seed=seed)
    outcome = log_training(settings, evaluation, test, {"seed": seed, "source": "fct_handoffs"})
    if outcome.promoted:
        publish_champion_evaluation(settings, evaluation.to_dict(), outcome.version, outcome.run_id, publish=publish)
    else:
        _publish_missing_champion_evaluation(settings, publish=publish)
    return outcome, evaluation


def champion_evaluation_frame(summary: dict, version: str, run_id: str) -> pd.DataFrame:
    """One row per router (the champion and its baselines) with the held-out metrics; the champion's row also
    carries its cost–quality curve. Readers (the app) get it from the snapshot without loading MLflow."""
    frame = pd.DataFrame([{"router": name, **result} for name, result in summary["routers"].items()])
    frame["champion_version"] = str(version)
    frame["mlflow_run_id"] = run_id
    for key in ("cheap_model", "strong_model", "test_rows", "train_rows", "outcomes"):
        frame[key] = summary.get(key)
    frame["curve_json"] = [
        json.dumps(summary.get("router_curve")) if name == "router" else None for name in frame["router"]
    ]
    return frame


def publish_champion_evaluation(
    settings: Settings, summary: dict, version: str, run_id: str, *, publish: bool = True
) -> str | None:
    """Store the champion's evaluation as `ml.routing_evaluation` and (with `publish`) publish a snapshot."""
    from aioa.warehouse.ml_tables import write_ml_tables

    return write_ml_tables(
        settings, {"routing_evaluation": champion_evaluation_frame(summary, version, run_id)}, publish=publish
    )


def _publish_missing_champion_evaluation(settings: Settings, *, publish: bool = True) -> None:
    """A champion registered before its evaluation was stored (or in another home): store it once."""
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table
    from ml.routing.predict import champion_evaluation

    if read_ml_table(settings, "routing_evaluation", TenantScope.all_orgs(), published=publish) is not None:
        return
    summary = champion_evaluation(settings)
    if summary is not None:
        publish_champion_evaluation(settings, summary, summary["version"], summary["run_id"], publish=publish)


def _matching_truth(truth: pd.DataFrame | None, data: RoutingData) -> pd.DataFrame | None:
    """Use the generator's truth only for the data it generated (nearly every task id known)."""
    if truth is None or truth["task_id"].isin(data.frame["task_id"]).mean() < 0.9:
        return None
    return truth


def evaluate_dataset(path: Path, seed: int = 42, split: str | None = None):
    """Fit and score on a RouteLLM-format outcome set, or on a generated sample (a folder with handoffs/ and
    labels/routing_truth.csv: expected outcomes from the generator's truth, split by template, the Bayes-optimal
    router from the text beside ours). No published figures are quoted beside ours: the shared data's README cites
    the paper (arXiv 2406.18665) without version or table, so they cannot be checked offline."""
    from ml.routing.data import from_generated, from_routing_csvs

    if path.is_dir() and (path / "handoffs").is_dir():
        data, truth = from_generated(path)
        return evaluate(data, truth, seed, split=split or "template")
    return evaluate(from_routing_csvs(path), None, seed, split=split or "task")
