"""Fit on a seeded train split, choose the operating threshold on a validation part of it (observed outcomes only),
then score the router, the baselines and the oracle on the held-out split with the same metrics.

Router ids are snake_case (`router`, `oracle`, `keyword_heuristic_v1`, `random`, `always_cheap`, `always_strong`);
each result carries a human `label`. Generator truth (`truth`, the `p_success_*` columns) may only turn held-out
0/1 outcomes into expected ones; it never reaches the model or the threshold (`model.assert_observable`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml.routing import baselines, metrics
from ml.routing.data import SPLITS, RoutingData, RoutingDataError, attach_templates
from ml.routing.model import assert_observable, fit, score

QUALITY_TARGET = 0.95  # the operating point keeps 95% of the strong model's quality (on validation data)
MIN_THRESHOLD_ROWS = 30  # validation tasks with both outcomes observed needed to choose a threshold
DEFAULT_THRESHOLD = 0.0  # otherwise: cheap when P(cheap succeeds) ≥ P(strong succeeds)
RESAMPLES = 1000
TEXT_TRUTH = ("p_success_cheap_from_text", "p_success_strong_from_text")  # the generator's text-only truth
LABELS = {
    "router": "router",
    "oracle": "oracle",
    "bayes_text": "Bayes-optimal from the text",
    "keyword_heuristic_v1": "keyword heuristic (v1)",
    "random": "random",
    "always_cheap": "always cheap",
    "always_strong": "always strong",
}


@dataclass
class Evaluation:
    cheap_model: str
    strong_model: str
    outcomes: str  # "observed" (both outcomes logged) or "expected" (the generator's true probabilities)
    train_rows: int
    test_rows: int
    threshold: float
    threshold_source: str = ""
    split: str = "task"
    routers: dict[str, dict] = field(default_factory=dict)
    model: object = None
    test_scores: np.ndarray | None = None  # routing scores of every held-out task
    test_p_cheap: np.ndarray | None = None  # calibrated P(cheap succeeds) of every held-out task
    test_frame: pd.DataFrame | None = None  # the held-out tasks with both outcomes (what the metrics use)
    cheap_outcome: np.ndarray | None = None  # on test_frame
    strong_outcome: np.ndarray | None = None
    curve: metrics.Curve | None = None

    def to_dict(self) -> dict:
        hidden = ("model", "test_scores", "test_p_cheap", "curve", "test_frame", "cheap_outcome", "strong_outcome")
        result = {key: value for key, value in self.__dict__.items() if key not in hidden}
        if self.curve is not None:
            step = 5  # every 2.5% of strong-call share is enough to draw the curve
            result["router_curve"] = {
                "strong_share": self.curve.strong_share[::step].round(4).tolist(),
                "quality": self.curve.quality[::step].round(5).tolist(),
                "cost": self.curve.cost[::step].round(8).tolist(),
            }
        return result


def evaluate(
    data: RoutingData,
    truth: pd.DataFrame | None = None,
    seed: int = 42,
    split: str = "task",
    resamples: int = RESAMPLES,
) -> Evaluation:
    """`split`: "task" (a seeded hash of the task id), "group" (whole task types held out, e.g. MMLU subjects) or
    "template" (generated tasks: whole templates held out; template ids from `truth` when the frame has none).

    With `truth`, the oracle ranks by the true P(cheap) − P(strong) (it knows what no text shows); when the truth also
    carries E[P(success) | text] (TEXT_TRUTH), `bayes_text` is the Bayes-optimal router from the text. The router's
    result then carries its share of both one's savings at equal quality (`savings_share_of_<reference>`)."""
    assert_observable(data.frame)
    if split == "template" and "template_id" not in data.frame:
        if truth is None:
            raise RoutingDataError("a split by template needs the generator's truth (template ids)")
        data = attach_templates(data, truth)
    splitter = SPLITS[split]
    train, test = splitter(data.frame, seed=seed)
    fit_part, validation = splitter(train, test_share=0.2, seed=seed + 1)
    model = fit(train, seed)
    threshold, threshold_source = choose_threshold(fit(fit_part, seed), validation)
    test_scores = score(model, test)
    cheap, strong, outcomes, kept = _outcomes(test, truth)
    if kept.sum() < 20:
        raise RoutingDataError(f"only {int(kept.sum())} held-out tasks have both models' outcomes; need 20")
    frame = test[kept].reset_index(drop=True)
    routing, p_cheap = test_scores.routing[kept], test_scores.p_cheap[kept]
    costs = (frame["cheap_cost_usd"].to_numpy(), frame["strong_cost_usd"].to_numpy())
    evaluation = Evaluation(
        data.cheap_model,
        data.strong_model,
        outcomes,
        len(train),
        int(kept.sum()),
        threshold,
        threshold_source,
        split,
        model=model,
        test_scores=test_scores.routing,
        test_p_cheap=test_scores.p_cheap,
        test_frame=frame,
        cheap_outcome=cheap,
        strong_outcome=strong,
    )
    candidates = candidate_scores(frame, routing, cheap, strong)
    if truth is not None and TEXT_TRUTH[0] in truth:
        # What a perfect reader of the text who knows the generator would route: E[P(success) | text] per model.
        known = frame[["task_id"]].merge(truth[["task_id", *TEXT_TRUTH]], on="task_id", how="left")
        candidates["bayes_text"] = (known[TEXT_TRUTH[0]] - known[TEXT_TRUTH[1]]).fillna(0.0).to_numpy()
    for name, router_scores in candidates.items():
        curve = metrics.routing_curve(router_scores, cheap, strong, *costs)
        result = {"label": LABELS[name]}
        if name == "oracle":
            result["label"] += " (true probabilities)" if truth is not None else " (observed outcomes)"
        result |= metrics.summary(curve)
        if name in ("always_cheap", "always_strong"):
            share = 0.0 if name == "always_cheap" else 1.0
            quality = float(np.interp(share, curve.strong_share, curve.quality))
            result = {
                "label": result["label"],
                "strong_share": share,
                "quality": quality,
                "handoff_accuracy": metrics.handoff_accuracy(np.full(len(frame), 1.0 - share), 0.5, cheap),
            }
        if name == "router":
            evaluation.curve = curve
            low, high = metrics.bootstrap_apgr(routing, cheap, strong, resamples, seed)
            result |= {"apgr_low": low, "apgr_high": high}
            result |= _operating_point(routing, threshold, cheap, strong, costs)
            observed = frame["cheap_success"].notna().to_numpy()
            labels = frame["cheap_success"].to_numpy()[observed] >= 0.5
            if observed.sum() and 0 < labels.mean() < 1:
                result |= {
                    "auc": float(roc_auc_score(labels, p_cheap[observed])),
                    "brier": float(brier_score_loss(labels, p_cheap[observed])),
                }
        if name == "keyword_heuristic_v1":
            result["handoff_accuracy"] = metrics.handoff_accuracy(router_scores, 0.5, cheap)
        evaluation.routers[name] = result
    if truth is not None:
        for reference in ("oracle", "bayes_text"):
            if reference in evaluation.routers:
                shares = share_of_optimal(evaluation.routers["router"], evaluation.routers[reference])
                evaluation.routers["router"] |= {f"{key}_{reference}": value for key, value in shares.items()}
    # Random routing at the router's operating share of strong calls: its expected handoff accuracy.
    share = evaluation.routers["router"]["strong_share_at_threshold"]
    evaluation.routers["random"]["handoff_accuracy"] = float(
        (1 - share) * np.mean(cheap) + share * (1 - np.mean(cheap))
    )
    return evaluation


def share_of_optimal(router: dict, optimal: dict) -> dict:
    """The router's cost saved at 95% of the strong model's quality as a share of a reference router's saving at the
    same quality (the issue's target: ≥ 0.9 of the Bayes-optimal one), and its APGR gain over random as a share of
    the reference's."""
    saved = optimal["cost_saved_at_95pct_quality"]
    gain = optimal["apgr"] - 0.5
    return {
        "savings_share_of": router["cost_saved_at_95pct_quality"] / saved if saved > 0 else float("nan"),
        "apgr_gain_share_of": (router["apgr"] - 0.5) / gain if gain > 0 else float("nan"),
    }


def candidate_scores(frame: pd.DataFrame, routing: np.ndarray, cheap: np.ndarray, strong: np.ndarray) -> dict:
    """Scores of the router and every baseline on the same held-out tasks (high = send to the cheap model)."""
    return {
        "router": routing,
        "oracle": cheap - strong,
        "keyword_heuristic_v1": baselines.keyword_scores(frame["task_text"]),
        "random": baselines.constant_scores(len(frame)),
        "always_cheap": np.ones(len(frame)),
        "always_strong": np.zeros(len(frame)),
    }


def _outcomes(test: pd.DataFrame, truth: pd.DataFrame | None):
    if truth is not None:
        joined = test[["task_id"]].merge(truth, on="task_id", how="left")
        kept = joined["p_success_cheap"].notna().to_numpy()
        return (
            joined["p_success_cheap"].to_numpy()[kept],
            joined["p_success_strong"].to_numpy()[kept],
            "expected",
            kept,
        )
    kept = (test["cheap_success"].notna() & test["strong_success"].notna()).to_numpy()
    return test["cheap_success"].to_numpy()[kept], test["strong_success"].to_numpy()[kept], "observed", kept


def choose_threshold(model, validation: pd.DataFrame) -> tuple[float, str]:
    """The routing-score threshold that keeps QUALITY_TARGET of the strong model's quality on validation tasks
    whose two outcomes were both observed. Takes no truth argument and refuses frames that carry it."""
    assert_observable(validation)
    both = validation[validation["cheap_success"].notna() & validation["strong_success"].notna()]
    if len(both) < MIN_THRESHOLD_ROWS:
        return DEFAULT_THRESHOLD, (
            f"default: {len(both)} validation tasks with both outcomes observed (need "
            f"{MIN_THRESHOLD_ROWS}); cheap when P(cheap) ≥ P(strong)"
        )
    scores = score(model, both).routing
    curve = metrics.routing_curve(scores, both["cheap_success"].to_numpy(), both["strong_success"].to_numpy())
    reached = np.nonzero(curve.quality >= QUALITY_TARGET * curve.quality[-1])[0]
    share = curve.strong_share[reached[0]] if len(reached) else 1.0
    # Tasks scoring at or above the threshold go to the cheap model: the quantile at `share` sends `share` of the
    # validation tasks (the lowest-scoring) to the strong one.
    threshold = float(np.quantile(scores, share)) if share > 0 else float(scores.min())
    if share >= 1.0:
        threshold = float(np.nextafter(scores.max(), np.inf))
    return threshold, (
        f"validation: {len(both)} tasks with both outcomes observed, {QUALITY_TARGET:.0%} of the strong model's quality"
    )


def _operating_point(scores, threshold, cheap, strong, costs) -> dict:
    to_cheap = scores >= threshold
    quality = float(np.mean(np.where(to_cheap, cheap, strong)))
    cost = float(np.mean(np.where(to_cheap, costs[0], costs[1])))
    return {
        "threshold": threshold,
        "strong_share_at_threshold": float(1 - to_cheap.mean()),
        "quality_at_threshold": quality,
        "quality_share_of_strong": quality / max(float(np.mean(strong)), 1e-12),
        "cost_saved_at_threshold": 1 - cost / max(float(np.mean(costs[1])), 1e-12),
        "handoff_accuracy": metrics.handoff_accuracy(scores, threshold, cheap),
    }
