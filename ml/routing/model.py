"""The router model, built only from scikit-learn's own components: hashed word n-grams with TF-IDF weights, the
form of the task (length, digits, math and code markers, multiple-choice options), the task type and project, and
the context size feed two calibrated logistic regressions, one per model: P(cheap model succeeds) and P(strong
model succeeds). Tasks are ranked by the difference: the strong model is worth its price where it is likely to
succeed and the cheap one to fail, not merely where the cheap one might fail (both failing gains nothing).

`score()` is the one scoring function: `route()` (one task) and `route_batch()` (many) both call it.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from math import log1p as math_log1p

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ml.routing.data import RoutingDataError

FEATURES = ["task_text", "task_type", "project_id", "input_tokens"]
LABELS = ["cheap_success", "strong_success"]
MIN_TRAINING_ROWS = 50
# What production never has: the generator's hidden truth. Training input carrying any of these is refused.
UNOBSERVABLE_PREFIXES = ("p_success", "difficulty")
FORM_FEATURES = [
    "log_chars",
    "log_lines",
    "digit_share",
    "math_share",
    "options",
    "statements",
    "negation",
    "code",
    "question_mark",
]
DEFAULTS = {"task_text": "", "task_type": "unknown", "project_id": "unknown", "input_tokens": 0.0}


def assert_observable(frame: pd.DataFrame) -> None:
    """Refuse input that carries generator truth (p_success_*, difficulty): a model or threshold fitted on it would
    be judged on information no production router has."""
    leaked = [column for column in frame.columns if str(column).startswith(UNOBSERVABLE_PREFIXES)]
    if leaked:
        raise AssertionError(
            f"unobservable columns in routing input: {leaked} (generator truth is for evaluation only)"
        )


_PATTERNS = [
    re.compile(pattern)
    for pattern in (
        r"\d",
        r"[=+*/^<>\\$]|\b(?:sqrt|log|sin|cos|frac)\b",
        r"(?m)^\s*\(?[A-Ha-h][.)]\s",  # multiple-choice options
        r"Statement \d",
    )
]
_FLAGS = [
    re.compile(pattern)
    for pattern in (r"\b(?:NOT|EXCEPT|LEAST|FALSE)\b", r"(?m)```|\bdef |\breturn\b|#include|[{};]\s*$|\bprint\(")
]


def text_form(texts) -> np.ndarray:
    """Handcrafted, dataset-independent descriptors of a task's text (one row per text): log length and lines,
    digit and math-symbol share, multiple-choice options, "Statement n", negation, code markers, a question mark."""
    rows = []
    for value in np.asarray(texts, dtype=object).ravel():
        text = "" if value is None or value != value else str(value)
        per_char = max(len(text), 1)
        digits, math, options, statements = (len(pattern.findall(text)) for pattern in _PATTERNS)
        rows.append(
            (
                math_log1p(len(text)),
                math_log1p(text.count("\n")),
                digits / per_char,
                math / per_char,
                options,
                statements,
                *(float(flag.search(text) is not None) for flag in _FLAGS),
                float("?" in text),
            )
        )
    return np.array(rows, dtype=float).reshape(-1, len(FORM_FEATURES))


def _log1p(values) -> np.ndarray:
    return np.log1p(np.clip(np.asarray(values, dtype=float), 0, None))


class OutcomePairClassifier(ClassifierMixin, BaseEstimator):
    """P(cheap succeeds) and P(strong succeeds) from the same features: one sigmoid-calibrated logistic regression
    per model, each fitted on the rows where that model's outcome was observed (`y` has two columns, NaN where
    unknown). With too few strong-model outcomes the strong side is the training mean (a constant), so the ranking
    falls back to P(cheap succeeds). `predict_proba` gives P(cheap succeeds), the calibrated confidence."""

    def __init__(self, C: float = 0.3, folds: int = 3, seed: int = 42) -> None:
        self.C = C
        self.folds = folds
        self.seed = seed

    def fit(self, X, y):
        from threadpoolctl import threadpool_limits

        labels = np.asarray(y, dtype=float).reshape(len(y), -1)
        self.classes_ = np.array([0, 1])
        with threadpool_limits(1):  # BLAS threads only fight each other (and other work) on a small machine
            self.cheap_ = self._fit_one(X, labels[:, 0], required=True)
            self.strong_ = self._fit_one(X, labels[:, 1], required=False) if labels.shape[1] > 1 else None
        strong = labels[:, 1] if labels.shape[1] > 1 else np.array([])
        self.strong_mean_ = float(np.nanmean(strong)) if np.isfinite(strong).any() else 0.0
        return self

    def _fit_one(self, X, labels: np.ndarray, required: bool):
        known = np.flatnonzero(np.isfinite(labels))
        target = labels[known] >= 0.5
        if len(known) < MIN_TRAINING_ROWS or target.all() or not target.any():
            if required:
                raise RoutingDataError("too few or one-class cheap-model outcomes to fit a router")
            return None
        # Shuffled rows: the calibration folds must not be blocks of the input order (files come one subject after
        # another; unshuffled folds calibrate on subjects never seen in training and can flip the sign).
        order = np.random.default_rng(self.seed).permutation(known)
        classifier = CalibratedClassifierCV(
            LogisticRegression(C=self.C, max_iter=3000), method="sigmoid", cv=self.folds, ensemble=False
        )
        return classifier.fit(X[order], labels[order] >= 0.5)

    def outcome_probabilities(self, X) -> tuple[np.ndarray, np.ndarray]:
        cheap = success_probability(self.cheap_, X)
        strong = (
            success_probability(self.strong_, X) if self.strong_ is not None else np.full(len(cheap), self.strong_mean_)
        )
        return cheap, strong

    def predict_proba(self, X) -> np.ndarray:
        cheap = self.cheap_.predict_proba(X)[:, 1]
        return np.column_stack([1 - cheap, cheap])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def success_probability(classifier: CalibratedClassifierCV, X) -> np.ndarray:
    """`classifier.predict_proba(X)[:, 1]` of a fitted binary, sigmoid, `ensemble=False` calibrated classifier (the
    router's and the performance predictor's), bit for bit: its one fitted estimator's decision function through its
    one fitted calibrator, both scikit-learn's own. `predict_proba` adds per-call bookkeeping around those two calls
    (response-method dispatch, `type_of_target`, a `LabelEncoder` fitted on the classes) that costs three times the
    arithmetic for one task. Any other configuration goes through `predict_proba`."""
    fitted = getattr(classifier, "calibrated_classifiers_", ())
    if len(fitted) != 1 or fitted[0].method != "sigmoid" or len(fitted[0].calibrators) != 1:
        return classifier.predict_proba(X)[:, 1]
    one = fitted[0]
    if len(one.classes) != 2 or list(one.estimator.classes_) != list(one.classes):
        return classifier.predict_proba(X)[:, 1]
    return one.calibrators[0].predict(one.estimator.decision_function(X))


def build_pipeline(seed: int = 42) -> Pipeline:
    features = ColumnTransformer(
        [
            # Stateless hashing (no vocabulary to store or look up) with scikit-learn's TF-IDF weighting on top.
            (
                "words",
                make_pipeline(
                    HashingVectorizer(ngram_range=(1, 2), n_features=2**18, alternate_sign=False, norm=None),
                    TfidfTransformer(sublinear_tf=True),
                ),
                "task_text",
            ),
            ("form", make_pipeline(FunctionTransformer(text_form), StandardScaler()), "task_text"),
            ("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=5), ["task_type", "project_id"]),
            ("context", make_pipeline(FunctionTransformer(_log1p), StandardScaler()), ["input_tokens"]),
        ]
    )
    return Pipeline([("features", features), ("classifier", OutcomePairClassifier(seed=seed))])


def training_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose cheap-model outcome is known, checked for enough history and both classes; labels are the two
    models' observed outcomes (NaN where not observed). Only FEATURES reach the model: never responses, costs or
    generator truth."""
    assert_observable(frame)
    known = frame[frame["cheap_success"].notna()]
    if len(known) < MIN_TRAINING_ROWS:
        raise RoutingDataError(
            f"too little history: {len(known)} tasks with a known cheap-model outcome, "
            f"need at least {MIN_TRAINING_ROWS}"
        )
    cheap = known["cheap_success"].to_numpy() >= 0.5
    if cheap.all() or not cheap.any():
        raise RoutingDataError("the cheap model's outcomes are all the same (one class only): nothing to learn")
    if known["task_text"].nunique() < 2:
        raise RoutingDataError("every task has the same text: nothing to learn from")
    return features_frame(known), known[LABELS].to_numpy(dtype=float)


def features_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """FEATURES with defaults for missing columns or values (a single task gets the same treatment)."""
    if frame.attrs.get("routing_features"):
        return frame
    result = pd.DataFrame(index=frame.index)
    for column, default in DEFAULTS.items():
        result[column] = frame[column].fillna(default) if column in frame else default
    result["input_tokens"] = result["input_tokens"].astype(float)
    result[["task_text", "task_type", "project_id"]] = result[["task_text", "task_type", "project_id"]].astype(str)
    result.attrs["routing_features"] = True
    return result


def tasks_frame(tasks: list[dict]) -> pd.DataFrame:
    """`features_frame` of task dicts, built in one step."""
    frame = pd.DataFrame(task_columns(tasks))
    frame.attrs["routing_features"] = True
    return frame


def task_columns(tasks: list[dict]) -> dict[str, np.ndarray]:
    """The FEATURES of task dicts as one array per column, defaults filled as `features_frame` fills them: what
    `score()` reads for one route() call without building a DataFrame (pandas is most of a single task's cost)."""
    columns = {
        column: np.array([_value(task.get(column), default) for task in tasks], dtype=object)
        for column, default in DEFAULTS.items()
    }
    columns["input_tokens"] = np.array([float(value) for value in columns["input_tokens"]], dtype=float)
    return columns


def _value(value, default):
    if value is None or (isinstance(value, float) and value != value):
        return default
    return value if isinstance(default, float) else str(value)


def fit(frame: pd.DataFrame, seed: int = 42) -> Pipeline:
    features, labels = training_rows(frame)
    return build_pipeline(seed).fit(features, labels)


@dataclass(frozen=True)
class Scores:
    p_cheap: np.ndarray  # calibrated P(cheap model succeeds)
    p_strong: np.ndarray  # calibrated P(strong model succeeds)

    @property
    def routing(self) -> np.ndarray:
        """The ranking score: high = send to the cheap model (it loses little or nothing against the strong one)."""
        return self.p_cheap - self.p_strong


def score(model: Pipeline, frame: pd.DataFrame | Mapping[str, np.ndarray]) -> Scores:
    """The one scoring function (single tasks and batches): a DataFrame, or `task_columns`; only FEATURES are read."""
    from sklearn import config_context

    # features_frame fills every missing value and builds the frame the pipeline was fitted on: skip the checks
    with config_context(assume_finite=True, skip_parameter_validation=True):
        features = transform_features(model[0], frame if isinstance(frame, Mapping) else features_frame(frame))
        cheap, strong = model[-1].outcome_probabilities(features)
    return Scores(cheap, strong)


def transform_features(columns: ColumnTransformer, frame: pd.DataFrame | Mapping[str, np.ndarray]):
    """What the fitted `ColumnTransformer.transform(frame)` returns, bit for bit: each fitted branch transforms its
    own columns and the results are stacked side by side in the branches' order. Its per-call dispatch
    (a joblib loop, pandas indexing, feature-name checks) is most of one task's cost, so it is skipped here; and the
    one-hot branch encodes each distinct (task type, project) once (`_encoded_rows`). `frame` may also be a mapping
    of column → array (`task_columns`): branches that read raw values then get arrays, not pandas objects."""
    from scipy import sparse

    parts = []
    for name, transformer, selection in columns.transformers_:
        if isinstance(transformer, str):
            if transformer != "drop" or len(selection):  # the router's pipeline drops nothing it does not select
                raise ValueError(f"unexpected {name!r} branch {transformer!r} in the router's features")
            continue
        if isinstance(transformer, OneHotEncoder):
            parts.append(_encoded_rows(transformer, frame, selection))
        else:
            parts.append(_transformed(transformer, _selected(frame, selection, transformer)))
    if not columns.sparse_output_:
        return np.hstack([part.toarray() if sparse.issparse(part) else part for part in parts])
    # the same matrix as ColumnTransformer's `sparse.hstack(parts).tocsr()` (same entries in the same order), built
    # from CSR blocks without the detour through COO; one row (a route() call) directly from its blocks' entries
    if parts and parts[0].shape[0] == 1:
        return _one_row(parts)
    return sparse.hstack([part if sparse.issparse(part) else sparse.csr_matrix(part) for part in parts], format="csr")


def _one_row(parts: list):
    """One row's blocks side by side as CSR: each block's stored entries (a dense block's non-zero values, as
    converting it to sparse keeps them) with its column offset, in the blocks' order."""
    from scipy import sparse

    data, indices, offset = [], [], 0
    for part in parts:
        if sparse.issparse(part):
            row = part.tocsr()
            data.append(row.data)
            indices.append(row.indices + offset)
        else:
            values = np.asarray(part).ravel()
            stored = np.flatnonzero(values)
            data.append(values[stored])
            indices.append(stored + offset)
        offset += part.shape[1]
    values = np.concatenate(data)
    return sparse.csr_matrix((values, np.concatenate(indices), np.array([0, len(values)])), shape=(1, offset))


def _transformed(transformer, values):
    """`transformer.transform(values)`; a Pipeline's steps are applied one after the other as `Pipeline.transform`
    does without parameters, minus its per-call metadata routing (a class built on every call) and tag copies."""
    if not isinstance(transformer, Pipeline):
        return transformer.transform(values)
    for _name, step in transformer.steps:
        if step is not None and step != "passthrough":
            values = step.transform(values)
    return values


def _selected(frame, selection: str | list[str], transformer):
    """`frame[selection]` as ColumnTransformer passes it to a branch; from a mapping of arrays, the arrays themselves
    where the branch's first step reads values without checking column names (a hashing vectorizer, a function
    transformer that does not validate), else the pandas object it was fitted on."""
    if not isinstance(frame, Mapping):
        return frame[selection]
    first = transformer.steps[0][1] if isinstance(transformer, Pipeline) else transformer
    raw = isinstance(first, HashingVectorizer) or (isinstance(first, FunctionTransformer) and not first.validate)
    if isinstance(selection, str):
        return frame[selection] if raw else pd.Series(frame[selection], name=selection)
    if raw:
        return np.column_stack([frame[column] for column in selection])
    return pd.DataFrame({column: frame[column] for column in selection})


_ENCODED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # fitted encoder → {category values: one-hot row}


def _encoded_rows(encoder: OneHotEncoder, frame: pd.DataFrame, columns: list[str]):
    """`encoder.transform(frame[columns])`, computed once per distinct row of those columns and remembered per fitted
    encoder (task types and projects are few; a single task then costs a dictionary look-up)."""
    from scipy import sparse

    known = _ENCODED.setdefault(encoder, {})
    keys = list(zip(*(frame[column].tolist() for column in columns), strict=True))
    missing = list(dict.fromkeys(key for key in keys if key not in known))
    if missing:
        if len(known) + len(missing) > 4096:
            known.clear()
        encoded = encoder.transform(pd.DataFrame(missing, columns=columns)).tocsr()
        known.update((key, encoded[index]) for index, key in enumerate(missing))
    if len(keys) == 1:
        return known[keys[0]]
    distinct = list(dict.fromkeys(keys))
    position = {key: index for index, key in enumerate(distinct)}
    return sparse.vstack([known[key] for key in distinct], format="csr")[[position[key] for key in keys]]


def predict_cheap_success(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    return score(model, frame).p_cheap
