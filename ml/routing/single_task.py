"""Scoring one task fast: `route()` is called per request, and a one-row pandas frame through the fitted pipeline
spends ~15 CPU-ms in pandas and scikit-learn's per-call input checks for microseconds of arithmetic.

`SingleTaskScorer` takes the fitted pipeline's parts once (the hashing vectorizer and TF-IDF weights, the scalers'
means and scales, each category's one-hot positions, the logistic weights and sigmoid calibrations) and applies
them to one task's values. It is checked against `model.score` on probe tasks when it is built; a pipeline of
another shape, or any difference above 1e-9, and `scorer_for` returns None: `route()` then scores through the
pipeline as before. `route_batch()` always uses the pipeline."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.routing.model import DEFAULTS, _log1p, _value, score, tasks_frame, text_form

TOLERANCE = 1e-9
UNKNOWN = "\x00not-a-category"
NONE = np.empty(0, dtype=np.intp)  # an unknown category's positions (`ignore`: all zeros)
PROBES = [
    {"task_text": "Refactor the retry loop in billing/payments.py; add tests.", "task_type": "refactor"},
    {"task_text": "What is 17 * 23? Options:\nA) 391\nB) 401\n", "input_tokens": 120},
    {"task_text": "def f(x):\n    return x  # why NOT?", "task_type": "bug_fix", "project_id": "no-such-project"},
    {"task_text": "", "task_type": "", "project_id": None, "input_tokens": 0},
]


class Unsupported(ValueError):
    """The pipeline is not of the shape this scorer knows."""


class SingleTaskScorer:
    def __init__(self, model) -> None:
        features, classifier = model[:-1], model[-1]
        if len(features) != 1:
            raise Unsupported("expected one feature step")
        columns = features[0]
        parts = {name: (transformer, cols) for name, transformer, cols in columns.transformers_ if name != "remainder"}
        if list(parts) != ["words", "form", "categories", "context"]:
            raise Unsupported(f"unexpected feature parts {list(parts)}")
        words = parts["words"][0]
        self.hashing, self.tfidf = words[0], words[1]
        self.form_scaler = parts["form"][0][-1]
        self.context_scaler = parts["context"][0][-1]
        encoder, category_columns = parts["categories"]
        self.category_columns = list(category_columns)
        self.category_codes = [self._one_hot_positions(encoder, index) for index in range(len(category_columns))]
        self.category_width = len(encoder.get_feature_names_out())
        self.sides = [self._linear(classifier.cheap_)]
        self.sides.append(None if classifier.strong_ is None else self._linear(classifier.strong_))
        self.strong_mean = classifier.strong_mean_

    def _one_hot_positions(self, encoder, index: int) -> dict[str, np.ndarray]:
        """Category value -> its output columns in the encoder's block (an unknown value: none; an infrequent one:
        the infrequent column), from the encoder's own transform of every known value beside unknown ones (which
        `handle_unknown="ignore"` encodes as zeros)."""
        known = [str(value) for value in encoder.categories_[index]]
        frame = pd.DataFrame(
            {
                column: known if position == index else [UNKNOWN] * len(known)
                for position, column in enumerate(self.category_columns)
            }
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "unknown categories … encoded as all zeros": the point here
            encoded = encoder.transform(frame)
        encoded = encoded.toarray() if sp.issparse(encoded) else np.asarray(encoded)
        return {value: np.flatnonzero(encoded[row]) for row, value in enumerate(known)}

    @staticmethod
    def _linear(calibrated) -> tuple[np.ndarray, float, object]:
        if getattr(calibrated, "ensemble", True) is not False or len(calibrated.calibrated_classifiers_) != 1:
            raise Unsupported("expected one calibrated classifier (ensemble=False)")
        inner = calibrated.calibrated_classifiers_[0]
        estimator = inner.estimator
        if len(inner.calibrators) != 1 or estimator.coef_.shape[0] != 1:
            raise Unsupported("expected a binary classifier")
        return estimator.coef_[0], float(estimator.intercept_[0]), inner.calibrators[0]

    def features(self, task: dict) -> tuple[sp.csr_matrix, np.ndarray]:
        """The task's TF-IDF word row (sparse) and the rest of its features (form, categories, context: dense)."""
        values = {column: _value(task.get(column), default) for column, default in DEFAULTS.items()}
        text = values["task_text"]
        words = self.tfidf.transform(self.hashing.transform([text]))
        categories = np.zeros(self.category_width)
        for index, column in enumerate(self.category_columns):
            categories[self.category_codes[index].get(str(values[column]), NONE)] = 1.0
        rest = np.concatenate(
            [
                _scaled(self.form_scaler, text_form([text]))[0],
                categories,
                _scaled(self.context_scaler, _log1p([[float(values["input_tokens"])]]))[0],
            ]
        )
        return words, rest

    def score(self, task: dict) -> tuple[float, float]:
        """(P(cheap succeeds), P(strong succeeds)) of one task, as `model.score` gives them."""
        words, rest = self.features(task)
        cheap = self._probability(words, rest, self.sides[0])
        strong = self.strong_mean if self.sides[1] is None else self._probability(words, rest, self.sides[1])
        return cheap, strong

    def _probability(self, words: sp.csr_matrix, rest: np.ndarray, side) -> float:
        weights, intercept, calibrator = side
        split = words.shape[1]
        # the logistic regression's decision over [words | rest], without stacking the two
        decision = float(words.data @ weights[:split][words.indices]) + float(rest @ weights[split:]) + intercept
        return float(calibrator.predict(np.array([decision]))[0])


def _scaled(scaler, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if scaler.mean_ is not None:
        values = values - scaler.mean_
    if scaler.scale_ is not None:
        values = values / scaler.scale_
    return values


_built: dict[int, tuple[object, SingleTaskScorer | None]] = {}
_lock = threading.Lock()


def scorer_for(model) -> SingleTaskScorer | None:
    """The fast scorer of this fitted pipeline, built and checked once (None: score through the pipeline)."""
    held = _built.get(id(model))
    if held is not None and held[0] is model:
        return held[1]
    with _lock:
        try:
            scorer = SingleTaskScorer(model)
            expected = score(model, tasks_frame(PROBES))
            for index, task in enumerate(PROBES):
                cheap, strong = scorer.score(task)
                if (
                    abs(cheap - expected.p_cheap[index]) > TOLERANCE
                    or abs(strong - expected.p_strong[index]) > TOLERANCE
                ):
                    raise Unsupported(f"differs from the pipeline on probe {index}")
        except (Unsupported, AttributeError, IndexError, KeyError, TypeError, ValueError):
            scorer = None
        _built[id(model)] = (model, scorer)
    return scorer
