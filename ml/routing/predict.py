"""`route(task)`: target model, calibrated confidence, expected cost and latency, from the registered champion
(loaded once per tracking URI and model name and compiled for sub-millisecond scoring; `reload()` picks up a newly
promoted champion). In production mode it explores and logs each decision with its propensity."""

from __future__ import annotations

import json
import random
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from aioa.settings import Settings, get_settings
from ml.routing.decisions import decision_log
from ml.routing.fast import CompiledRouter
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
    propensity: float = 1.0  # probability with which this route was chosen (< 1 when exploring)
    explored: bool = False  # the route differs from the greedy decision (exploration)
    router_version: str = ""
    decision_id: str | None = None  # set when the decision was logged


@dataclass(frozen=True)
class Champion:
    model: object
    meta: dict
    version: str
    compiled: CompiledRouter | None = None


@lru_cache(maxsize=8)
def _load(tracking_uri: str, name: str, version: str | None = None) -> Champion:
    """The champion (version None) or a given registered version; loaded once and compiled for fast scoring."""
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri.removeprefix("sqlite:///")).exists():
        # No tracking database yet: nothing was ever trained (and importing MLflow would create one, slowly).
        raise RouterUnavailable("no champion router yet: run `uv run aioa route train` (or `make demo`)")
    from mlflow.exceptions import MlflowException

    from ml.routing.tracking import CHAMPION, configure

    mlflow = configure(get_settings().model_copy(update={"mlflow_tracking_uri": tracking_uri}))
    client = mlflow.tracking.MlflowClient()
    try:
        found = client.get_model_version_by_alias(name, CHAMPION) if version is None else \
            client.get_model_version(name, version)
    except MlflowException as error:
        if version is not None:
            raise RouterUnavailable(f"router version {version} of {name} is not registered") from error
        raise RouterUnavailable("no champion router yet: run `uv run aioa route train` (or `make demo`)") from error
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(f"models:/{name}/{found.version}")
    with tempfile.TemporaryDirectory() as folder:
        meta = json.loads(Path(client.download_artifacts(found.run_id, "routing_meta.json", folder)).read_text())
    return Champion(model, meta, str(found.version), CompiledRouter(model))


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


def champion(settings: Settings | None = None, version: str | None = None) -> Champion:
    """The registered champion, or a given version (A/B experiments route some traffic to a challenger)."""
    settings = settings or _default_settings()
    return _load(settings.mlflow_uri, settings.routing_model_name, version)


def reload() -> None:
    _load.cache_clear()
    _default_settings.cache_clear()


@lru_cache(maxsize=1)
def _default_settings() -> Settings:
    # Reading the environment and .env costs ~1 ms: too slow for every route() call; reload() refreshes it.
    return get_settings()


def _frame(tasks: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(tasks)
    defaults = {"task_text": "", "task_type": "unknown", "project_id": "unknown", "input_tokens": 0.0}
    for column, default in defaults.items():
        frame[column] = frame[column].fillna(default) if column in frame else default
    frame["input_tokens"] = frame["input_tokens"].astype(float)
    return frame[FEATURES]


def route_batch(tasks: list[dict] | pd.DataFrame, settings: Settings | None = None,
                version: str | None = None) -> pd.DataFrame:
    """Greedy decisions for many tasks at once (one vectorised prediction; identical task rows scored once)."""
    current = champion(settings, version)
    frame = _frame(tasks.to_dict("records") if isinstance(tasks, pd.DataFrame) else tasks)
    unique = frame.drop_duplicates()
    if len(unique) < len(frame):
        scores = pd.Series(current.model.predict_proba(unique)[:, 1], index=pd.MultiIndex.from_frame(unique))
        confidence = scores.reindex(pd.MultiIndex.from_frame(frame)).to_numpy()
    else:
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


def route(task: dict | str, settings: Settings | None = None, *, explore: bool = False, log: bool = False,
          version: str | None = None, experiment: str | None = None, rng: random.Random | None = None
          ) -> RouteDecision:
    """Where one task should go. Production mode (`explore=True`) takes the other route with probability
    `routing_exploration_rate` and records the propensity; `log=True` appends the decision to the decisions log."""
    settings = settings or _default_settings()
    current = champion(settings, version)
    task = {"task_text": task} if isinstance(task, str) else task
    meta = current.meta
    confidence = current.compiled.score(task) if current.compiled else float(
        current.model.predict_proba(_frame([task]))[:, 1][0])
    greedy = "cheap" if confidence >= meta["threshold"] else "strong"
    chosen, propensity = greedy, 1.0
    if explore:
        rate = settings.routing_exploration_rate
        explored = (rng or random).random() < rate
        chosen = ("strong" if greedy == "cheap" else "cheap") if explored else greedy
        propensity = rate if explored else 1.0 - rate
    target = meta[f"{chosen}_model"]
    decision = RouteDecision(target, confidence, _number(meta[f"{chosen}_cost_usd"]),
                             _number(meta[f"{chosen}_latency_ms"]), chosen, propensity, chosen != greedy,
                             current.version, uuid.uuid4().hex if log else None)
    if log:
        decision_log(settings).append({
            "decision_id": decision.decision_id, "ts": datetime.now(UTC).isoformat(),
            "task_id": task.get("task_id"), "org_id": task.get("org_id"), "experiment": experiment,
            "router_version": current.version, "p_cheap": confidence, "threshold": meta["threshold"],
            "greedy_route": greedy, "route": chosen, "target": target, "propensity": propensity,
            "explored": chosen != greedy})
    return decision


def _number(value) -> float:
    return float("nan") if value is None else float(value)
