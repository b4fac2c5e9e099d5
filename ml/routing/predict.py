"""`route(task)`: target model, calibrated confidence, expected cost and latency, from the registered champion
(loaded once per tracking URI and model name; `reload()` picks up a newly promoted champion)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from aioa.settings import Settings, get_settings
from ml.routing.model import FEATURES


class RouterUnavailable(RuntimeError):
    """No champion router is registered yet."""


@dataclass(frozen=True)
class RouteDecision:
    target: str
    confidence: float  # calibrated P(cheap model succeeds)
    expected_cost_usd: float
    expected_latency_ms: float
    route: str  # cheap or strong


@dataclass(frozen=True)
class Champion:
    model: object
    meta: dict
    version: str


@lru_cache(maxsize=4)
def _load(tracking_uri: str, name: str) -> Champion:
    from mlflow.exceptions import MlflowException

    from ml.routing.tracking import CHAMPION, configure

    mlflow = configure(get_settings().model_copy(update={"mlflow_tracking_uri": tracking_uri}))
    client = mlflow.tracking.MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as error:
        raise RouterUnavailable("no champion router yet: run `uv run aioa route train` (or `make demo`)") from error
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(f"models:/{name}@{CHAMPION}")
    with tempfile.TemporaryDirectory() as folder:
        meta = json.loads(Path(client.download_artifacts(version.run_id, "routing_meta.json", folder)).read_text())
    return Champion(model, meta, str(version.version))


def champion_evaluation(settings: Settings | None = None) -> dict | None:
    """The champion's held-out evaluation (metrics of it and the baselines, its cost–quality curve), or None."""
    settings = settings or get_settings()
    try:
        current = champion(settings)
    except RouterUnavailable:
        return None
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.mlflow_uri)
    version = client.get_model_version(settings.routing_model_name, current.version)
    with tempfile.TemporaryDirectory() as folder:
        evaluation = json.loads(Path(client.download_artifacts(version.run_id, "evaluation.json", folder)).read_text())
    return evaluation | {"version": current.version, "run_id": version.run_id}


def champion(settings: Settings | None = None) -> Champion:
    settings = settings or get_settings()
    return _load(settings.mlflow_uri, settings.routing_model_name)


def reload() -> None:
    _load.cache_clear()


def _frame(tasks: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(tasks)
    defaults = {"task_text": "", "task_type": "unknown", "project_id": "unknown", "input_tokens": 0.0}
    for column, default in defaults.items():
        frame[column] = frame[column].fillna(default) if column in frame else default
    frame["input_tokens"] = frame["input_tokens"].astype(float)
    return frame[FEATURES]


def route_batch(tasks: list[dict] | pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Decisions for many tasks at once (one vectorised prediction)."""
    current = champion(settings)
    frame = _frame(tasks.to_dict("records") if isinstance(tasks, pd.DataFrame) else tasks)
    confidence = current.model.predict_proba(frame)[:, 1]
    cheap = confidence >= current.meta["threshold"]
    meta = current.meta
    return pd.DataFrame({
        "route": np.where(cheap, "cheap", "strong"),
        "target": np.where(cheap, meta["cheap_model"], meta["strong_model"]),
        "confidence": confidence,
        "expected_cost_usd": np.where(cheap, meta["cheap_cost_usd"] or np.nan, meta["strong_cost_usd"] or np.nan),
        "expected_latency_ms": np.where(cheap, meta["cheap_latency_ms"] or np.nan,
                                        meta["strong_latency_ms"] or np.nan),
    })


def route(task: dict | str, settings: Settings | None = None) -> RouteDecision:
    row = route_batch([{"task_text": task} if isinstance(task, str) else task], settings).iloc[0]
    return RouteDecision(str(row.target), float(row.confidence), float(row.expected_cost_usd),
                         float(row.expected_latency_ms), str(row.route))
