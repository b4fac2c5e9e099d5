"""`route(task)`: target model, calibrated confidence, expected cost and latency, from the registered champion
(loaded once per tracking URI and model name; `reload()` picks up a newly promoted champion). `route()` and
`route_batch()` score through the same function (`model.score`). In production mode `route()` explores and logs
each decision with its propensity."""

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
from ml.routing.model import features_frame, score, tasks_frame


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
    p_strong: float = float("nan")  # calibrated P(strong model succeeds)
    routing_score: float = float("nan")  # confidence − p_strong: cheap when ≥ the threshold


@dataclass(frozen=True)
class Champion:
    model: object
    meta: dict
    version: str


@lru_cache(maxsize=8)
def _load(tracking_uri: str, name: str, version: str | None = None) -> Champion:
    """The champion (version None) or a given registered version; loaded once."""
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri.removeprefix("sqlite:///")).exists():
        # No tracking database yet: nothing was ever trained (and importing MLflow would create one, slowly).
        raise RouterUnavailable("no champion router yet: run `uv run aioa route train` (or `make demo`)")
    from mlflow.exceptions import MlflowException

    from ml.routing.tracking import CHAMPION, configure

    mlflow = configure(get_settings().model_copy(update={"mlflow_tracking_uri": tracking_uri}))
    client = mlflow.tracking.MlflowClient()
    try:
        found = (
            client.get_model_version_by_alias(name, CHAMPION)
            if version is None
            else client.get_model_version(name, version)
        )
    except MlflowException as error:
        if version is not None:
            raise RouterUnavailable(f"router version {version} of {name} is not registered") from error
        raise RouterUnavailable("no champion router yet: run `uv run aioa route train` (or `make demo`)") from error
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(f"models:/{name}/{found.version}")
    with tempfile.TemporaryDirectory() as folder:
        meta = json.loads(Path(client.download_artifacts(found.run_id, "routing_meta.json", folder)).read_text())
    return Champion(model, meta, str(found.version))


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
    return tasks_frame(tasks)


def route_batch(
    tasks: list[dict] | pd.DataFrame, settings: Settings | None = None, version: str | None = None
) -> pd.DataFrame:
    """Greedy decisions for many tasks at once (one call of the scoring function; identical task rows scored
    once)."""
    current = champion(settings, version)
    frame = features_frame(tasks) if isinstance(tasks, pd.DataFrame) else _frame(tasks)
    frame = frame.reset_index(drop=True)
    unique = frame.drop_duplicates()
    scores = score(current.model, unique)
    position = pd.Series(np.arange(len(unique)), index=pd.MultiIndex.from_frame(unique))
    rows = (
        position.reindex(pd.MultiIndex.from_frame(frame)).to_numpy()
        if len(unique) < len(frame)
        else np.arange(len(frame))
    )
    confidence, p_strong, routing = scores.p_cheap[rows], scores.p_strong[rows], scores.routing[rows]
    cheap = routing >= current.meta["threshold"]
    meta = current.meta
    return pd.DataFrame(
        {
            "route": np.where(cheap, "cheap", "strong"),
            "target": np.where(cheap, meta["cheap_model"], meta["strong_model"]),
            "confidence": confidence,
            "p_strong": p_strong,
            "routing_score": routing,
            "expected_cost_usd": np.where(cheap, meta["cheap_cost_usd"] or np.nan, meta["strong_cost_usd"] or np.nan),
            "expected_latency_ms": np.where(
                cheap, meta["cheap_latency_ms"] or np.nan, meta["strong_latency_ms"] or np.nan
            ),
        }
    )


def route(
    task: dict | str,
    settings: Settings | None = None,
    *,
    explore: bool = False,
    log: bool = False,
    version: str | None = None,
    experiment: str | None = None,
    rng: random.Random | None = None,
) -> RouteDecision:
    """Where one task should go. Production mode (`explore=True`) takes the other route with probability
    `routing_exploration_rate` and records the propensity; `log=True` appends the decision to the decisions log."""
    settings = settings or _default_settings()
    current = champion(settings, version)
    task = {"task_text": task} if isinstance(task, str) else task
    meta = current.meta
    scores = score(current.model, _frame([task]))
    confidence, p_strong, routing = float(scores.p_cheap[0]), float(scores.p_strong[0]), float(scores.routing[0])
    greedy = "cheap" if routing >= meta["threshold"] else "strong"
    chosen, propensity = greedy, 1.0
    if explore:
        rate = settings.routing_exploration_rate
        explored = (rng or random).random() < rate
        chosen = ("strong" if greedy == "cheap" else "cheap") if explored else greedy
        propensity = rate if explored else 1.0 - rate
    target = meta[f"{chosen}_model"]
    decision = RouteDecision(
        target,
        confidence,
        _number(meta[f"{chosen}_cost_usd"]),
        _number(meta[f"{chosen}_latency_ms"]),
        chosen,
        propensity,
        chosen != greedy,
        current.version,
        uuid.uuid4().hex if log else None,
        p_strong,
        routing,
    )
    if log:
        decision_log(settings).append(
            {
                "decision_id": decision.decision_id,
                "ts": datetime.now(UTC).isoformat(),
                "task_id": task.get("task_id"),
                "org_id": task.get("org_id"),
                "experiment": experiment,
                "router_version": current.version,
                "p_cheap": confidence,
                "routing_score": routing,
                "threshold": meta["threshold"],
                "greedy_route": greedy,
                "route": chosen,
                "target": target,
                "propensity": propensity,
                "explored": chosen != greedy,
            }
        )
    return decision


def _number(value) -> float:
    return float("nan") if value is None else float(value)
