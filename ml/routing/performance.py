"""Performance prediction (roadmap 1.3): per task and model, a calibrated P(success) and the task's cost and latency
with 80% conformal intervals, learned from the handoffs' observed outcomes.

Features are what production has when it decides: the task text, its type and the model. Never generator truth
(`p_success_*`, `difficulty`: refused by `assert_observable`), never the outcome's own tokens, cost or latency.

- success: per model, the router's kind of classifier (hashed word n-grams with TF-IDF, the text's form, one-hot
  task type → sigmoid-calibrated logistic regression); a model with too few outcomes gets its base rate (flagged);
- cost and latency: ridge regression of log(value) on the same text features, the task type and the model, with
  split-conformal 80% intervals per model (the calibration quarter's |residual| quantile: the interval holds on new
  tasks from the same distribution, whatever the regression's quality) and an expected value by smearing.

The served predictor is the one evaluated: fitted on a seeded split by task, scored on the held-out tasks (Brier
against the base rate, reliability curve, interval coverage), stored under `<home>/models/` and loaded once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aioa.atomic_files import write_atomically, write_text_atomically
from ml.routing import stored
from ml.routing.data import RoutingDataError, split_by_task
from ml.routing.model import assert_observable, success_probability, text_form, transform_features

INTERVAL = 0.8
TARGETS = ("cost_usd", "latency_ms")
MIN_OUTCOMES = 50  # outcomes of a model needed to fit its classifier (else: its base rate)
MIN_CALIBRATION = 20  # calibration rows of a model needed for its own conformal width (else: pooled)
STORE = Path("models") / "performance"


def observations(handoffs: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, model) observed: the handoff's target (success when verified, cost, latency) and each
    logged alternative (its success and latency; its cost is not logged)."""
    if handoffs.empty:
        raise RoutingDataError("no handoffs yet: ingest handoff logs (`aioa ingest handoffs`) and run `aioa run`")
    assert_observable(handoffs)
    verified = (
        handoffs["outcome_verified"].fillna(False).astype(bool)
        if "outcome_verified" in handoffs
        else pd.Series(True, index=handoffs.index)
    )
    base = pd.DataFrame(
        {
            "task_id": handoffs["task_id"].astype(str),
            "org_id": handoffs.get("org_id"),
            "task_text": handoffs["task_text"].fillna("").astype(str),
            "task_type": handoffs["task_type"].fillna("unknown").astype(str),
        }
    )
    chosen = base.assign(
        model=handoffs["target_model"].astype(str),
        success=handoffs["success"].astype(float).where(verified),
        cost_usd=handoffs["cost_usd"].astype(float),
        latency_ms=handoffs["latency_ms"].astype(float),
    )
    rows = []
    for index, value in handoffs.get("alternatives_json", pd.Series(dtype=object)).items():
        for item in _alternatives(value):
            rows.append(
                {
                    **base.loc[index].to_dict(),
                    "model": str(item.get("model")),
                    "success": _float(item.get("success")) if verified.loc[index] else np.nan,
                    "cost_usd": _float(item.get("cost_usd")),
                    "latency_ms": _float(item.get("latency_ms")),
                }
            )
    return pd.concat([chosen, pd.DataFrame(rows, columns=chosen.columns)], ignore_index=True)


def _alternatives(value) -> list[dict]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    items = json.loads(value) if isinstance(value, str) else value
    return [item for item in items or [] if item.get("model")]


def _float(value) -> float:
    return np.nan if value is None else float(value)


def _text_features():
    """The task's features, fitted once and shared by every head: hashed word 1–2-grams with TF-IDF weights, the
    text's form (`model.text_form`) and the task type (unknown types are ignored)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    return ColumnTransformer(
        [
            (
                "words",
                make_pipeline(
                    HashingVectorizer(ngram_range=(1, 2), n_features=2**16, alternate_sign=False, norm=None),
                    TfidfTransformer(sublinear_tf=True),
                ),
                "task_text",
            ),
            ("form", make_pipeline(FunctionTransformer(text_form), StandardScaler()), "task_text"),
            ("type", OneHotEncoder(handle_unknown="ignore", min_frequency=5), ["task_type"]),
        ]
    )


def _success_classifier(features, labels: np.ndarray, seed: int):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    classifier = CalibratedClassifierCV(
        LogisticRegression(C=0.3, max_iter=3000),
        method="sigmoid",
        cv=StratifiedKFold(3, shuffle=True, random_state=seed),
        ensemble=False,
    )
    return classifier.fit(features, labels)


def _with_models(features, models: np.ndarray, known: list[str]):
    """The task features beside a one-hot of the model (a model's price level is an additive offset of log cost)."""
    from scipy import sparse

    onehot = sparse.csr_matrix((models[:, None] == np.array(known)[None, :]).astype(float))
    return sparse.hstack([features, onehot], format="csr")


def _conformal_width(scores: np.ndarray, level: float = INTERVAL) -> float:
    """The finite-sample conformal quantile of the conformity scores (the ceil((n+1)·level)-th smallest)."""
    n = len(scores)
    rank = min(n, int(np.ceil((n + 1) * level)))
    return float(np.sort(scores)[rank - 1])


@dataclass
class IntervalModel:
    """Split-conformal regression of log(value): the point is exp(prediction) × the smearing factor (the mean of
    exp(residual), Duan 1983: an expected value, not a median), the interval exp(prediction ± width), with the
    width the conformal quantile of |residual| on calibration tasks, per model (Mondrian) or pooled ("*")."""

    regression: object  # ridge on task features + model one-hot; None: the per-model constant baseline
    models: list[str]
    widths: dict[str, float]
    smearing: dict[str, float]
    constants: dict[str, float] = field(default_factory=dict)  # the baseline's mean log value per model

    def log_prediction(self, features, models: np.ndarray) -> np.ndarray:
        if self.regression is None:
            default = float(np.mean(list(self.constants.values())))
            return np.array([self.constants.get(model, default) for model in models])
        return self.regression.predict(_with_models(features, models, self.models))

    def log_grid(self, features, models: list[str]) -> np.ndarray:
        """log_prediction for every task (rows) and every model in `models` (columns) from one product: the
        ridge is linear, so a model only shifts the task's prediction by its one-hot coefficient."""
        if self.regression is None:
            return np.tile(self.log_prediction(None, np.array(models)), (features.shape[0], 1))
        coef = self.regression.coef_
        shared = features @ coef[: -len(self.models)] + self.regression.intercept_
        first = len(coef) - len(self.models)  # a model the ridge never saw has no one-hot column: no shift
        offsets = np.array(
            [coef[first + self.models.index(model)] if model in self.models else 0.0 for model in models]
        )
        return np.asarray(shared).reshape(-1, 1) + offsets.reshape(1, -1)

    def grid(self, features, models: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        center = self.log_grid(features, models)
        width = np.array([self.widths.get(model, self.widths["*"]) for model in models])
        smearing = np.array([self.smearing.get(model, self.smearing["*"]) for model in models])
        return np.exp(center - width), np.exp(center) * smearing, np.exp(center + width)

    def predict(self, features, models: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        center = self.log_prediction(features, models)
        width = np.array([self.widths.get(model, self.widths["*"]) for model in models])
        smearing = np.array([self.smearing.get(model, self.smearing["*"]) for model in models])
        return np.exp(center - width), np.exp(center) * smearing, np.exp(center + width)


def fit_intervals(
    features, models: np.ndarray, target: np.ndarray, seed: int, *, constant: bool = False
) -> IntervalModel:
    """Fit on three quarters of the rows, calibrate the widths on the rest (split conformal). `constant=True` is the
    baseline: per model, the mean log value (an interval that ignores the task)."""
    order = np.random.default_rng(seed).permutation(len(target))
    calibration, fitting = order[: len(order) // 4], order[len(order) // 4 :]
    known = sorted(set(models.tolist()))
    if constant:
        constants = {
            name: float(target[fitting][models[fitting] == name].mean()) for name in np.unique(models[fitting])
        }
        model = IntervalModel(None, known, {}, {}, constants)
    else:
        model = IntervalModel(
            _ridge(_with_models(features[fitting], models[fitting], known), target[fitting]), known, {}, {}
        )
    residuals = target[calibration] - model.log_prediction(
        None if constant else features[calibration], models[calibration]
    )
    model.widths, model.smearing = {"*": _conformal_width(np.abs(residuals))}, {"*": float(np.exp(residuals).mean())}
    for name in np.unique(models[calibration]):
        mine = models[calibration] == name
        if mine.sum() >= MIN_CALIBRATION:
            model.widths[str(name)] = _conformal_width(np.abs(residuals[mine]))
            model.smearing[str(name)] = float(np.exp(residuals[mine]).mean())
    return model


def _ridge(features, target: np.ndarray):
    """Ridge regression with the penalty chosen on a fifth of the rows (conjugate gradients on the sparse matrix:
    RidgeCV's leave-one-out needs an n × n eigendecomposition, seconds on a small machine)."""
    from sklearn.linear_model import Ridge

    inner = np.arange(len(target)) % 5 != 0
    errors = {
        alpha: np.mean(
            (
                Ridge(alpha=alpha, solver="sparse_cg").fit(features[inner], target[inner]).predict(features[~inner])
                - target[~inner]
            )
            ** 2
        )
        for alpha in (1.0, 10.0, 100.0, 1000.0)
    }
    return Ridge(alpha=min(errors, key=errors.get), solver="sparse_cg").fit(features, target)


@dataclass
class PerformancePredictor:
    """P(success), cost and latency per task and model; `predict()` gives one row per task and model."""

    models: list[str]
    task_types: list[str]
    features: object  # fitted `_text_features()`
    success: dict[str, object]  # model → calibrated classifier, or its base rate (float)
    intervals: dict[str, IntervalModel]  # target → conformal regression
    evaluation: dict = field(default_factory=dict)

    def estimates(self, features, models: list[str]) -> dict[str, np.ndarray]:
        """The one scoring function: for a feature matrix of n tasks, arrays (n tasks × models) of P(success), and
        cost and latency with their 80% intervals."""
        from sklearn import config_context

        result = {}
        with config_context(assume_finite=True, skip_parameter_validation=True):
            result["p_success"] = np.column_stack(
                [
                    np.full(features.shape[0], fitted)
                    if isinstance(fitted := self.success[name], float)
                    else success_probability(fitted, features)
                    for name in models
                ]
            )
            for target, model in self.intervals.items():
                result[f"{target}_low"], result[target], result[f"{target}_high"] = model.grid(features, models)
        return result

    def predict(self, tasks: pd.DataFrame, models: list[str] | None = None) -> pd.DataFrame:
        """One row per task and model (task-major): P(success), and cost and latency with their 80% intervals."""
        from sklearn import config_context

        models = [model for model in (models or self.models) if model in self.models]
        tasks = _task_columns(tasks).reset_index(drop=True)
        with config_context(assume_finite=True, skip_parameter_validation=True):
            features = self.features.transform(tasks)
        values = self.estimates(features, models)
        rows = np.repeat(np.arange(len(tasks)), len(models))
        frame = pd.DataFrame({"task_index": rows, "model": models * len(tasks)})
        frame["task_type"] = tasks["task_type"].to_numpy()[rows]
        for key, grid in values.items():
            frame[key] = grid.ravel()
        frame["success_model"] = [
            "base_rate" if isinstance(self.success[name], float) else "classifier" for name in frame["model"]
        ]
        frame["task_type_known"] = frame["task_type"].isin(self.task_types)
        return frame

    def predict_one(self, task_text: str, task_type: str) -> list[dict]:
        """`predict()` for one task without DataFrames (route() calls it once per decision): the fitted column
        transformer's branches applied to arrays (`model.transform_features`), then the same `estimates()`."""
        from sklearn import config_context

        columns = {"task_text": np.array([task_text], dtype=object), "task_type": np.array([task_type], dtype=object)}
        with config_context(assume_finite=True, skip_parameter_validation=True):
            features = transform_features(self.features, columns)
        values = self.estimates(features, self.models)
        known = task_type in self.task_types
        return [
            {"model": name, **{key: float(grid[0, index]) for key, grid in values.items()}, "task_type_known": known}
            for index, name in enumerate(self.models)
        ]


def _task_columns(tasks: pd.DataFrame) -> pd.DataFrame:
    result = pd.DataFrame(index=tasks.index)
    result["task_text"] = tasks["task_text"].fillna("").astype(str) if "task_text" in tasks else ""
    result["task_type"] = tasks["task_type"].fillna("unknown").astype(str) if "task_type" in tasks else "unknown"
    return result


def fit_predictor(observed: pd.DataFrame, seed: int = 42) -> PerformancePredictor:
    """Fit on observations (`observations()` rows): task text and type and the model in; success, cost, latency out."""
    from threadpoolctl import threadpool_limits

    assert_observable(observed)
    observed = observed.reset_index(drop=True)
    counts = observed.groupby("model")["success"].count()
    models = sorted(counts.index[counts > 0])
    if not models:
        raise RoutingDataError("no observed outcomes of any model: nothing to predict from")
    tasks = _task_columns(observed)
    text_features = _text_features().fit(tasks)
    features = text_features.transform(tasks).tocsr()
    names = observed["model"].astype(str).to_numpy()
    success, intervals = {}, {}
    with threadpool_limits(1):  # BLAS threads only fight each other on a small machine
        for name in models:
            rows = ((names == name) & observed["success"].notna()).to_numpy()
            labels = observed.loc[rows, "success"].to_numpy() >= 0.5
            if rows.sum() >= MIN_OUTCOMES and 0 < labels.sum() < len(labels):
                success[name] = _success_classifier(features[rows], labels, seed)
            else:
                success[name] = float(labels.mean())
        for target in TARGETS:
            rows = (observed[target] > 0).to_numpy()
            if rows.sum() < MIN_OUTCOMES:
                raise RoutingDataError(f"too few observed {target} values ({rows.sum()}) to predict them")
            intervals[target] = fit_intervals(
                features[rows], names[rows], np.log(observed.loc[rows, target].to_numpy()), seed
            )
    return PerformancePredictor(models, sorted(tasks["task_type"].unique()), text_features, success, intervals)


def evaluate_predictor(observed: pd.DataFrame, seed: int = 42) -> PerformancePredictor:
    """Fit on a seeded split by task and measure on the held-out tasks; the result carries its `evaluation`."""
    train, test = split_by_task(observed, seed=seed)
    predictor = fit_predictor(train, seed)
    predictor.evaluation = measure(predictor, train, test, seed)
    return predictor


def measure(predictor: PerformancePredictor, train: pd.DataFrame, test: pd.DataFrame, seed: int = 42) -> dict:
    """Held-out quality: per model, Brier score against the training base rate's, AUC and the reliability curve;
    per target and model, the 80% interval's coverage and width beside the per-model constant interval's."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss, roc_auc_score

    result: dict = {"train_tasks": int(train["task_id"].nunique()), "test_tasks": int(test["task_id"].nunique())}
    names = [name for name in predictor.models if name in set(test["model"])]
    if not names:
        return result | {"success": [], "intervals": []}
    # predict() gives one row per task of one model, in order: the test rows are regrouped by model the same way
    predicted = pd.concat([predictor.predict(test[test["model"] == name], [name]) for name in names])
    test = pd.concat([test[test["model"] == name] for name in names]).reset_index(drop=True)
    predicted = predicted.reset_index(drop=True)
    success_rows = []
    for name in predictor.models:
        rows = ((test["model"] == name) & test["success"].notna()).to_numpy()
        if rows.sum() == 0:
            continue
        outcome = test.loc[rows, "success"].to_numpy() >= 0.5
        probability = predicted.loc[rows, "p_success"].to_numpy()
        known = train.loc[(train["model"] == name) & train["success"].notna(), "success"] >= 0.5
        base_rate = float(known.mean())
        entry = {
            "model": name,
            "n": int(rows.sum()),
            "success_rate": float(outcome.mean()),
            "brier": float(brier_score_loss(outcome, probability)),
            "brier_base_rate": float(brier_score_loss(outcome, np.full(len(outcome), base_rate))),
            "auc": float(roc_auc_score(outcome, probability)) if 0 < outcome.sum() < len(outcome) else None,
            "source": predicted.loc[rows, "success_model"].iloc[0],
        }
        entry["brier_skill"] = 1 - entry["brier"] / entry["brier_base_rate"] if entry["brier_base_rate"] else None
        fraction, mean_predicted = calibration_curve(outcome, probability, n_bins=10, strategy="quantile")
        entry["reliability"] = {"predicted": mean_predicted.round(4).tolist(), "observed": fraction.round(4).tolist()}
        success_rows.append(entry)
    result["success"] = success_rows
    interval_rows = []
    for target in TARGETS:
        fit_rows = (train[target] > 0).to_numpy()
        baseline = fit_intervals(
            None,
            train.loc[fit_rows, "model"].astype(str).to_numpy(),
            np.log(train.loc[fit_rows, target].to_numpy()),
            seed,
            constant=True,
        )
        for name in predictor.models:
            rows = ((test["model"] == name) & (test[target] > 0)).to_numpy()
            if rows.sum() == 0:
                continue
            actual = test.loc[rows, target].to_numpy()
            low, middle, high = (
                predicted.loc[rows, column].to_numpy() for column in (f"{target}_low", target, f"{target}_high")
            )
            base_low, base_middle, base_high = baseline.predict(None, test.loc[rows, "model"].to_numpy())
            interval_rows.append(
                {
                    "target": target,
                    "model": name,
                    "n": int(rows.sum()),
                    "coverage": float(np.mean((actual >= low) & (actual <= high))),
                    "width_ratio": float(np.median(high / low)),
                    "median_abs_log_error": float(np.median(np.abs(np.log(actual / middle)))),
                    "mean_abs_error": float(np.mean(np.abs(actual - middle))),
                    "distinct_predictions": int(len(np.unique(middle.round(8)))),
                    "baseline_coverage": float(np.mean((actual >= base_low) & (actual <= base_high))),
                    "baseline_width_ratio": float(np.median(base_high / base_low)),
                    "baseline_median_abs_log_error": float(np.median(np.abs(np.log(actual / base_middle)))),
                    "baseline_mean_abs_error": float(np.mean(np.abs(actual - base_middle))),
                }
            )
    result["intervals"] = interval_rows
    return result


# --- storage and serving -------------------------------------------------------------------------------------------


def store_path(home: Path) -> Path:
    return home / STORE / "predictor.joblib"


def save(predictor: PerformancePredictor, home: Path) -> Path:
    """Written by the pipeline's writer into the home (the same trust as the warehouse beside it), atomically."""
    import joblib

    path = store_path(home)
    write_atomically(path, lambda partial: joblib.dump(predictor, partial))
    evaluation = json.dumps(predictor.evaluation, indent=2, default=str)
    write_text_atomically(path.parent / "evaluation.json", evaluation)
    return path


def load(home: Path) -> PerformancePredictor | None:
    """The stored predictor (loaded once per version of the file), or None when none was trained."""
    import joblib

    return stored.read(store_path(home), joblib.load)


def train_performance(settings, *, publish: bool = True, seed: int = 42) -> PerformancePredictor:
    """Fit and measure on the warehouse's handoffs and store the predictor in the home (the CLI and Dagster)."""
    from ml.routing.train import load_handoffs

    predictor = evaluate_predictor(observations(load_handoffs(settings, published=publish)), seed)
    save(predictor, settings.home)
    return predictor


class UnknownTaskType(ValueError):
    def __init__(self, task_type: str, known: list[str]) -> None:
        super().__init__(f"unknown task type {task_type!r}; known task types: {', '.join(known)}")
        self.task_type, self.known = task_type, known
