"""Fit on a seeded train split, then score the router, the baselines and (on generated data) the oracle on the
held-out split with the same metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml.routing import baselines, metrics
from ml.routing.data import RoutingData, RoutingDataError, split_by_task
from ml.routing.model import fit, predict_cheap_success

QUALITY_TARGET = 0.95  # the operating point keeps 95% of the strong model's quality


@dataclass
class Evaluation:
    cheap_model: str
    strong_model: str
    outcomes: str  # "observed" (both outcomes logged) or "expected" (the generator's true probabilities)
    train_rows: int
    test_rows: int
    threshold: float
    routers: dict[str, dict] = field(default_factory=dict)
    model: object = None
    test_scores: np.ndarray | None = None
    curve: metrics.Curve | None = None
    published: dict | None = None  # a published reference on the same model pair (ml/routing/published.py)

    def to_dict(self) -> dict:
        result = {key: value for key, value in self.__dict__.items()
                  if key not in ("model", "test_scores", "curve")}
        if self.curve is not None:
            step = 5  # every 2.5% of strong-call share is enough to draw the curve
            result["router_curve"] = {"strong_share": self.curve.strong_share[::step].round(4).tolist(),
                                      "quality": self.curve.quality[::step].round(5).tolist(),
                                      "cost": self.curve.cost[::step].round(8).tolist()}
        return result


def evaluate(data: RoutingData, truth: pd.DataFrame | None = None, seed: int = 42) -> Evaluation:
    train, test = split_by_task(data.frame, seed=seed)
    fit_part, validation = split_by_task(train, test_share=0.2, seed=seed + 1)
    model = fit(train, seed)
    threshold = _threshold(fit(fit_part, seed), validation, truth)
    test_scores = predict_cheap_success(model, test)
    cheap, strong, outcomes, kept = _outcomes(test, truth)
    if kept.sum() < 20:
        raise RoutingDataError(f"only {int(kept.sum())} held-out tasks have both models' outcomes; need 20")
    frame = test[kept]
    scores = test_scores[kept]
    costs = (frame["cheap_cost_usd"].to_numpy(), frame["strong_cost_usd"].to_numpy())
    evaluation = Evaluation(data.cheap_model, data.strong_model, outcomes, len(train), int(kept.sum()), threshold,
                            model=model, test_scores=test_scores)
    candidates = {"router": scores, "keyword heuristic (v1)": baselines.keyword_scores(frame["task_text"]),
                  "random": baselines.constant_scores(len(frame)), "always cheap": np.ones(len(frame)),
                  "always strong": np.zeros(len(frame))}
    if truth is not None:
        candidates["oracle (true probabilities)"] = cheap - strong
    for name, router_scores in candidates.items():
        curve = metrics.routing_curve(router_scores, cheap, strong, *costs)
        result = metrics.summary(curve)
        if name in ("always cheap", "always strong"):
            share = 0.0 if name == "always cheap" else 1.0
            result = {"strong_share": share, "quality": float(np.interp(share, curve.strong_share, curve.quality))}
        if name == "router":
            evaluation.curve = curve
            result |= _operating_point(scores, threshold, cheap, strong, costs)
            observed = frame["cheap_success"].notna().to_numpy()
            labels = frame["cheap_success"].to_numpy()[observed] >= 0.5
            if observed.sum() and 0 < labels.mean() < 1:
                result |= {"auc": float(roc_auc_score(labels, scores[observed])),
                           "brier": float(brier_score_loss(labels, scores[observed]))}
        evaluation.routers[name] = result
    keyword = candidates["keyword heuristic (v1)"]
    evaluation.routers["keyword heuristic (v1)"]["handoff_accuracy"] = metrics.handoff_accuracy(keyword, 0.5, cheap)
    return evaluation


def _outcomes(test: pd.DataFrame, truth: pd.DataFrame | None):
    if truth is not None:
        joined = test[["task_id"]].merge(truth, on="task_id", how="left")
        kept = joined["p_success_cheap"].notna().to_numpy()
        return (joined["p_success_cheap"].to_numpy()[kept], joined["p_success_strong"].to_numpy()[kept],
                "expected", kept)
    kept = (test["cheap_success"].notna() & test["strong_success"].notna()).to_numpy()
    return test["cheap_success"].to_numpy()[kept], test["strong_success"].to_numpy()[kept], "observed", kept


def _threshold(model, validation: pd.DataFrame, truth) -> float:
    """The score threshold that keeps QUALITY_TARGET of the strong model's quality on validation data."""
    cheap, strong, _, kept = _outcomes(validation, truth)
    if kept.sum() < 10:
        return 0.5
    scores = predict_cheap_success(model, validation)[kept]
    curve = metrics.routing_curve(scores, cheap, strong)
    reached = np.nonzero(curve.quality >= QUALITY_TARGET * curve.quality[-1])[0]
    share = curve.strong_share[reached[0]] if len(reached) else 1.0
    return float(np.quantile(scores, share)) if share > 0 else 0.0


def _operating_point(scores, threshold, cheap, strong, costs) -> dict:
    to_cheap = scores >= threshold
    quality = float(np.mean(np.where(to_cheap, cheap, strong)))
    cost = float(np.mean(np.where(to_cheap, costs[0], costs[1])))
    return {"threshold": threshold, "strong_share_at_threshold": float(1 - to_cheap.mean()),
            "quality_at_threshold": quality, "quality_share_of_strong": quality / max(float(np.mean(strong)), 1e-12),
            "cost_saved_at_threshold": 1 - cost / max(float(np.mean(costs[1])), 1e-12),
            "handoff_accuracy": metrics.handoff_accuracy(scores, threshold, cheap)}
