"""The trained router pipeline compiled into dictionaries and one weight matrix, so that a single `route()` call
scores a task in well under a millisecond (scikit-learn's per-call validation and pandas cost ~5–70 ms).

The pipeline is linear up to its sigmoid calibration: TF-IDF (words, chars), one-hot categories, historical
success rates and log tokens feed three calibrated logistic regressions (CalibratedClassifierCV, cv=3), whose
probabilities are averaged. `CompiledRouter.score()` reproduces `predict_proba(...)[:, 1]` to float precision
(tests/ml/test_feedback.py checks it on every held-out task).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class _Text:
    analyzer: object  # callable: text -> n-grams, exactly the vectorizer's own analyzer
    vocabulary: dict[str, int]
    idf: np.ndarray
    sublinear: bool
    weights: np.ndarray  # (vocabulary, K)


class CompiledRouter:
    """`score(task)` = the pipeline's calibrated P(cheap model succeeds) for one task dict."""

    def __init__(self, pipeline) -> None:
        features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
        calibrated = classifier.calibrated_classifiers_
        coef = np.column_stack([item.estimator.coef_.ravel() for item in calibrated])  # (features, K)
        self.intercept = np.array([float(item.estimator.intercept_[0]) for item in calibrated])
        self.slope = np.array([float(item.calibrators[0].a_) for item in calibrated])
        self.offset = np.array([float(item.calibrators[0].b_) for item in calibrated])
        self.texts: list[_Text] = []
        self.categories: list[tuple[str, dict[str, np.ndarray]]] = []
        self.history: list[tuple[str, dict[str, float], float, np.ndarray]] = []
        self.context = np.zeros(len(self.intercept))
        covered = 0
        for name, transformer, columns in features.transformers_:
            if name == "remainder":
                continue
            block = coef[features.output_indices_[name]]
            covered += len(block)
            if name in ("words", "chars"):
                self.texts.append(_Text(transformer.build_analyzer(), transformer.vocabulary_, transformer.idf_,
                                        transformer.sublinear_tf, block))
            elif name == "categories":
                self.categories = _one_hot_weights(transformer, list(columns), block)
            elif name == "history":
                self.history = [(column, rates, transformer.mean_, block[index])
                                for index, (column, rates) in enumerate(zip(columns, transformer.rates_, strict=True))]
            elif name == "context":
                self.context = block[0]
        if covered != coef.shape[0]:
            raise ValueError(f"compiled {covered} of {coef.shape[0]} router features: the pipeline layout changed")

    def decision(self, task: dict) -> np.ndarray:
        """The K logistic-regression decision values for one task."""
        total = self.intercept.copy()
        text = str(task.get("task_text") or "")
        for block in self.texts:
            counts = Counter(index for gram in block.analyzer(text)
                             if (index := block.vocabulary.get(gram)) is not None)
            if not counts:
                continue
            indices = np.fromiter(counts, dtype=np.int64, count=len(counts))
            values = np.fromiter(counts.values(), dtype=float, count=len(counts))
            if block.sublinear:
                values = 1.0 + np.log(values)
            values *= block.idf[indices]
            values /= math.sqrt(float(values @ values))  # l2 norm, as TfidfVectorizer(norm="l2")
            total += values @ block.weights[indices]
        for column, weights in self.categories:
            hit = weights.get(_text(task.get(column), "unknown"))
            if hit is not None:
                total += hit
        for column, rates, mean, weight in self.history:
            total += rates.get(_text(task.get(column), "unknown"), mean) * weight
        total += math.log1p(float(task.get("input_tokens") or 0.0)) * self.context
        return total

    def score(self, task: dict) -> float:
        calibrated = 1.0 / (1.0 + np.exp(self.slope * self.decision(task) + self.offset))
        return float(calibrated.mean())


def _text(value, default: str) -> str:
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _one_hot_weights(encoder, columns: list[str], block: np.ndarray) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Per column, category -> its summed weight row (infrequent categories share theirs; unknown ones add 0)."""
    names = encoder.get_feature_names_out()
    result = []
    for position, column in enumerate(columns):
        inside = np.array([name.startswith(f"{column}_") for name in names])
        categories = [str(value) for value in encoder.categories_[position]]
        probe = pd.DataFrame({other: [encoder.categories_[index][0]] * len(categories)
                              for index, other in enumerate(columns)})
        probe[column] = encoder.categories_[position]
        encoded = encoder.transform(probe)
        encoded = encoded.toarray() if hasattr(encoded, "toarray") else np.asarray(encoded)
        rows = encoded[:, inside] @ block[inside]
        result.append((column, {category: rows[index] for index, category in enumerate(categories)}))
    return result
