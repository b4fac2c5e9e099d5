"""`route(task)`: target model, calibrated confidence, expected cost and latency, from the registered champion
(loaded once per tracking URI and model name; `reload()` picks up a newly promoted champion). `route()` and
`route_batch()` score through the same function (`model.score`). In production mode `route()` explores and logs
each decision with its propensity.

The champion is served from its local copy (`<home>/models/router/champion.joblib`, written when it is promoted, or
after loading it from MLflow when the copy is missing; one writer, `save_local_champion`, never replaces a newer
version): loading it takes no MLflow import or registry query. Cost and latency are per task when the performance predictor
(`performance.py`) is trained, else the route's held-out mean (`estimate_source` says which)."""

from __future__ import annotations

import json
import os
import random
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from aioa.atomic_files import exclusive, write_atomically
from aioa.settings import Settings, get_settings
from ml.routing import stored
from ml.routing.decisions import decision_log
from ml.routing.model import features_frame, score, task_columns, tasks_frame
from ml.routing.tuning import threshold_for


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
    estimate_source: str = "route_mean"  # "per_task" (performance predictor) or "route_mean" (champion's held-out mean)
    expected_cost_low_usd: float = float("nan")  # 80% interval of the target's cost on this task (per_task only)
    expected_cost_high_usd: float = float("nan")
    expected_latency_low_ms: float = float("nan")  # 80% interval of the target's latency on this task
    expected_latency_high_ms: float = float("nan")
    predictions: tuple = ()  # per model: P(success), cost and latency with 80% intervals (performance predictor)
    task_type_known: bool | None = None  # the task type was seen in training (None: no performance predictor)


@dataclass(frozen=True)
class Champion:
    model: object
    meta: dict
    version: str
    run_id: str = ""  # the MLflow run that logged it (copies written before it was recorded have "")


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
    return Champion(model, meta, str(found.version), found.run_id)


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
    if version is None:
        local = local_champion(settings)
        if local is not None:
            return local
        current = _load(settings.mlflow_uri, settings.routing_model_name, None)
        offered = (local_champion_path(settings), settings.mlflow_uri, settings.routing_model_name, current.version)
        if offered not in _OFFERED:  # once per load, not on every call that finds another registry's copy
            _OFFERED.add(offered)
            save_local_champion(settings, current, promotion=False)  # the next process loads it without MLflow
        return current
    return _load(settings.mlflow_uri, settings.routing_model_name, version)


# (copy path, tracking URI, model name, version) loaded from MLflow and offered to the local copy in this process
_OFFERED: set[tuple] = set()


def local_champion_path(settings: Settings) -> Path:
    return settings.home / "models" / "router" / "champion.joblib"


def save_local_champion(settings: Settings, current: Champion, *, promotion: bool = True) -> bool:
    """Write the champion's serving copy (atomically, under a lock across processes); True when written. Promotion
    (`tracking.log_training`) and `champion()` after loading from MLflow (`promotion=False`) both write here.

    A copy that names a newer version of the same registered model is never replaced: a process that loaded an older
    champion slowly must not undo a promotion that finished meanwhile. A copy of another registry or model name is
    replaced only by a promotion: processes with different MLflow URIs on one home would otherwise rewrite it in
    turn. Best effort: a home that cannot be written is served from memory."""
    import joblib

    path = local_champion_path(settings)
    copy = {
        "tracking_uri": settings.mlflow_uri,
        "name": settings.routing_model_name,
        "version": current.version,
        "run_id": current.run_id,
        "champion": current,
    }
    try:
        with exclusive(path):
            if not _replaces(_readable_copy(path), copy, promotion):
                return False
            write_atomically(path, lambda partial: joblib.dump(copy, partial))
    except OSError:
        return False
    return True


def _replaces(existing: dict | None, copy: dict, promotion: bool) -> bool:
    """Whether `copy` may replace the serving copy `existing` (None: missing or unreadable)."""
    if existing is None:
        return True
    if (existing.get("tracking_uri"), existing.get("name")) != (copy["tracking_uri"], copy["name"]):
        return promotion
    mine, theirs = _version_number(copy["version"]), _version_number(existing["champion"].version)
    return mine > theirs or (promotion and mine == theirs)


def _version_number(version: str) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        return -1  # not a registry version: any registered one is newer


def _readable_copy(path: Path) -> dict | None:
    try:
        return _stored_copy(path)
    except Exception:  # a damaged or unloadable copy names nothing: it may be replaced
        return None


def _stored_copy(path: Path) -> dict | None:
    """The serving copy as stored (registry, model name, version, run id, champion), read once per file version."""
    import joblib

    return stored.read(path, joblib.load)


def local_champion(settings: Settings) -> Champion | None:
    """The local copy, if it belongs to this registry and model name."""
    copy = _stored_copy(local_champion_path(settings))
    if copy is None or copy["tracking_uri"] != settings.mlflow_uri or copy["name"] != settings.routing_model_name:
        return None
    return copy["champion"]


def reload() -> None:
    _load.cache_clear()
    _settings_for_home.cache_clear()
    _OFFERED.clear()
    _SERVED.clear()
    stored.forget()


# home → the stored models' file versions when route() last answered from them in this process
_SERVED: dict[Path, tuple] = {}


def _model_files(settings: Settings) -> tuple:
    from ml.routing import performance

    return tuple(
        stored.file_version(path) for path in (local_champion_path(settings), performance.store_path(settings.home))
    )


def loaded(settings: Settings) -> bool:
    """True when route() already answered in this process from the stored models as they are now on disk (the
    champion's serving copy and the performance predictor): a call then only computes, it loads nothing. The API
    scores such calls on its event loop and sends the others, which may load models, to a thread."""
    return _SERVED.get(settings.home) == _model_files(settings)


def performance_predictor(settings: Settings):
    """The stored performance predictor, or None before one is trained (`aioa route train`, the pipeline)."""
    from ml.routing import performance

    return performance.load(settings.home)


def _default_settings() -> Settings:
    """The settings of the current AIOA_HOME: a process that changes it is answered from the new home."""
    return _settings_for_home(os.environ.get("AIOA_HOME"))


@lru_cache(maxsize=8)
def _settings_for_home(home: str | None) -> Settings:
    # Reading the environment and .env costs ~1 ms: too slow for every route() call; reload() refreshes it.
    return get_settings()


def _batch_thresholds(settings: Settings, current: Champion, tasks) -> np.ndarray | float:
    """Each task's threshold: its org's tuned one (tasks with `org_id`), else the champion's."""
    orgs = tasks["org_id"] if isinstance(tasks, pd.DataFrame) and "org_id" in tasks else None
    if orgs is None and not isinstance(tasks, pd.DataFrame) and any("org_id" in task for task in tasks):
        orgs = pd.Series([task.get("org_id") for task in tasks])
    if orgs is None:
        return float(current.meta["threshold"])
    by_org = {org: threshold_for(settings, current, org) for org in pd.unique(orgs)}
    return orgs.map(by_org).fillna(float(current.meta["threshold"])).to_numpy(dtype=float)


def route_batch(
    tasks: list[dict] | pd.DataFrame, settings: Settings | None = None, version: str | None = None
) -> pd.DataFrame:
    """Greedy decisions for many tasks at once (one call of the scoring function; identical task rows scored
    once)."""
    current = champion(settings, version)
    thresholds = _batch_thresholds(settings or _default_settings(), current, tasks)
    frame = features_frame(tasks) if isinstance(tasks, pd.DataFrame) else tasks_frame(tasks)
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
    cheap = routing >= thresholds
    meta = current.meta
    result = pd.DataFrame(
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
            "estimate_source": "route_mean",
        }
    )
    predictor = performance_predictor(settings or _default_settings())
    pair = [meta["cheap_model"], meta["strong_model"]]
    if predictor is not None and all(model in predictor.models for model in pair):
        estimates = predictor.predict(frame, pair)  # task-major: (task 0, cheap), (task 0, strong), ...
        for column in ("expected_cost_usd", "expected_latency_ms"):
            source = column.removeprefix("expected_")
            values = estimates[source].to_numpy().reshape(-1, 2)
            result[column] = np.where(cheap, values[:, 0], values[:, 1])
        result["estimate_source"] = "per_task"
    return result


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
    files = _model_files(settings) if version is None else None
    current = champion(settings, version)
    task = {"task_text": task} if isinstance(task, str) else task
    meta = current.meta
    confidence, p_strong = _score_one(current.model, task)
    routing = confidence - p_strong
    threshold = threshold_for(settings, current, task.get("org_id"))  # the tuner's, for this org and champion
    greedy = "cheap" if routing >= threshold else "strong"
    chosen, propensity = greedy, 1.0
    if explore:
        rate = settings.routing_exploration_rate
        explored = (rng or random).random() < rate
        chosen = ("strong" if greedy == "cheap" else "cheap") if explored else greedy
        propensity = rate if explored else 1.0 - rate
    target = meta[f"{chosen}_model"]
    estimates = _per_task_estimates(settings, task, target)
    decision = RouteDecision(
        target,
        confidence,
        estimates.get("cost_usd", _number(meta[f"{chosen}_cost_usd"])),
        estimates.get("latency_ms", _number(meta[f"{chosen}_latency_ms"])),
        chosen,
        propensity,
        chosen != greedy,
        current.version,
        uuid.uuid4().hex if log else None,
        p_strong,
        routing,
        "per_task" if "cost_usd" in estimates else "route_mean",
        estimates.get("cost_usd_low", float("nan")),
        estimates.get("cost_usd_high", float("nan")),
        estimates.get("latency_ms_low", float("nan")),
        estimates.get("latency_ms_high", float("nan")),
        estimates.get("predictions", ()),
        estimates.get("task_type_known"),
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
                "threshold": threshold,
                "greedy_route": greedy,
                "route": chosen,
                "target": target,
                "propensity": propensity,
                "explored": chosen != greedy,
            }
        )
    if files is not None:
        _SERVED[settings.home] = files  # the models these files hold are in memory now
    return decision


PREDICTION_FIELDS = (
    "model",
    "p_success",
    "cost_usd",
    "cost_usd_low",
    "cost_usd_high",
    "latency_ms",
    "latency_ms_low",
    "latency_ms_high",
)


def _per_task_estimates(settings: Settings, task: dict, target: str) -> dict:
    """The performance predictor's estimates for this task: every model's, and the target's cost and latency with
    their intervals ({} without a predictor or when it never saw the target model)."""
    predictor = performance_predictor(settings)
    if predictor is None:
        return {}
    estimates = predictor.predict_one(_text(task.get("task_text"), ""), _text(task.get("task_type"), "unknown"))
    rows = tuple({key: row[key] for key in PREDICTION_FIELDS} for row in estimates)
    result: dict = {"predictions": rows, "task_type_known": estimates[0]["task_type_known"] if estimates else None}
    mine = [row for row in rows if row["model"] == target]
    if mine:
        result |= {key: mine[0][key] for key in PREDICTION_FIELDS[2:]}
    return result


def _text(value, default: str) -> str:
    """A task field as the feature frames read it (`model.tasks_frame`): missing or NaN is the default."""
    return default if value is None or (isinstance(value, float) and value != value) else str(value)


def _score_one(model, task: dict) -> tuple[float, float]:
    """(P(cheap succeeds), P(strong succeeds)) of one task, through the same scoring function as route_batch()."""
    scores = score(model, task_columns([task]))
    return float(scores.p_cheap[0]), float(scores.p_strong[0])


def _number(value) -> float:
    return float("nan") if value is None else float(value)
