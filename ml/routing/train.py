"""Train, evaluate, log and (maybe) promote a router from the warehouse's handoffs: the one entry point the CLI and
Dagster share."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from aioa.settings import Settings
from ml.routing.data import RoutingData, from_handoffs, split_by_task
from ml.routing.evaluate import evaluate
from ml.routing.tracking import TrainingOutcome, log_training


def load_handoffs(settings: Settings) -> pd.DataFrame:
    """Handoffs from the current read snapshot (the mart `fct_handoffs`)."""
    from aioa.warehouse.snapshots import open_snapshot

    connection, _ = open_snapshot(settings)
    with connection:
        return connection.execute("select * from marts.fct_handoffs").df()


def load_truth(settings: Settings) -> pd.DataFrame | None:
    """The generator's true success probabilities, when the data is the generated sample."""
    path = settings.home / "sample" / "labels" / "routing_truth.csv"
    return pd.read_csv(path) if path.exists() else None


def train_router(settings: Settings, data: RoutingData | None = None, truth: pd.DataFrame | None = None,
                 seed: int = 42) -> tuple[TrainingOutcome, object]:
    if data is None:
        data = from_handoffs(load_handoffs(settings))
        truth = truth if truth is not None else _matching_truth(load_truth(settings), data)
    evaluation = evaluate(data, truth, seed)
    _, test = split_by_task(data.frame, seed=seed)
    outcome = log_training(settings, evaluation, test, {"seed": seed, "source": "fct_handoffs"})
    return outcome, evaluation


def _matching_truth(truth: pd.DataFrame | None, data: RoutingData) -> pd.DataFrame | None:
    """Use the generator's truth only for the data it generated (nearly every task id known)."""
    if truth is None or truth["task_id"].isin(data.frame["task_id"]).mean() < 0.9:
        return None
    return truth


def evaluate_dataset(path: Path, seed: int = 42):
    from ml.routing.data import from_routing_csvs

    return evaluate(from_routing_csvs(path), None, seed)
