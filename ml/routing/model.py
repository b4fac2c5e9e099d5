"""The router model: text n-grams, task type, project, context size and historical success rates → a calibrated
probability that the cheap model succeeds (scikit-learn pipeline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from ml.routing.data import RoutingDataError
from ml.routing.vectorize import FastTfidfVectorizer

FEATURES = ["task_text", "task_type", "project_id", "input_tokens"]
MIN_TRAINING_ROWS = 50


class SuccessRateEncoder(BaseEstimator, TransformerMixin):
    """Historical cheap-model success rate per category, learned on the training rows only (smoothed to the mean)."""

    def __init__(self, smoothing: float = 20.0) -> None:
        self.smoothing = smoothing

    def fit(self, X, y):
        frame = pd.DataFrame(X).astype(str)
        target = pd.Series(np.asarray(y, dtype=float), index=frame.index)
        self.mean_ = float(target.mean())
        self.rates_ = []
        for column in frame.columns:
            stats = target.groupby(frame[column]).agg(["sum", "count"])
            self.rates_.append(((stats["sum"] + self.smoothing * self.mean_) /
                                (stats["count"] + self.smoothing)).to_dict())
        return self

    def transform(self, X):
        frame = pd.DataFrame(X).astype(str)
        return np.column_stack([frame.iloc[:, index].map(rates).fillna(self.mean_).to_numpy()
                                for index, rates in enumerate(self.rates_)])


def _log_tokens(values):
    return np.log1p(np.asarray(values, dtype=float).reshape(-1, 1))


def build_pipeline(seed: int = 42) -> Pipeline:
    features = ColumnTransformer([
        ("words", FastTfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20_000, sublinear_tf=True),
         "task_text"),
        ("chars", FastTfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=20_000,
                                      sublinear_tf=True), "task_text"),
        ("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=5), ["task_type", "project_id"]),
        ("history", SuccessRateEncoder(), ["task_type", "project_id"]),
        ("context", FunctionTransformer(_log_tokens, feature_names_out="one-to-one"), "input_tokens"),
    ])
    classifier = CalibratedClassifierCV(LogisticRegression(C=1.0, max_iter=2000, random_state=seed),
                                        method="sigmoid", cv=3)
    return Pipeline([("features", features), ("classifier", classifier)])


def training_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose cheap-model outcome is known, checked for enough history and both classes."""
    known = frame[frame["cheap_success"].notna()]
    if len(known) < MIN_TRAINING_ROWS:
        raise RoutingDataError(f"too little history: {len(known)} tasks with a known cheap-model outcome, "
                               f"need at least {MIN_TRAINING_ROWS}")
    labels = known["cheap_success"].to_numpy() >= 0.5
    if labels.all() or not labels.any():
        raise RoutingDataError("the cheap model's outcomes are all the same (one class only): nothing to learn")
    if known["task_text"].nunique() < 2:
        raise RoutingDataError("every task has the same text: nothing to learn from")
    return known[FEATURES], labels.astype(int)


def fit(frame: pd.DataFrame, seed: int = 42) -> Pipeline:
    features, labels = training_rows(frame)
    return build_pipeline(seed).fit(features, labels)


def predict_cheap_success(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame[FEATURES])[:, 1]
