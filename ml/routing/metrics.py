"""Routing metrics (RouteLLM definitions): the quality a router reaches for each share of calls sent to the strong
model, PGR (performance gap recovered), APGR (area under the PGR curve), CPT(x) (strong-call share needed for
PGR ≥ x), and the cost saved at 95% of the strong model's quality.

A router is a score per task: the estimated probability that the cheap model succeeds. Sending a share c of tasks
to the strong model means sending the c lowest-scoring tasks. Tied scores are split evenly (the expectation over
random tie-breaking), so a constant score traces the random router's straight line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID = np.linspace(0.0, 1.0, 201)


@dataclass(frozen=True)
class Curve:
    strong_share: np.ndarray  # c on GRID
    quality: np.ndarray  # mean outcome when the c lowest-scoring tasks go to the strong model
    cost: np.ndarray  # mean cost per task


def routing_curve(scores, cheap_outcome, strong_outcome, cheap_cost=None, strong_cost=None) -> Curve:
    """Quality and cost on GRID; outcomes may be 0/1 results or success probabilities (expected outcomes)."""
    scores = np.asarray(scores, dtype=float)
    cheap, strong = np.asarray(cheap_outcome, dtype=float), np.asarray(strong_outcome, dtype=float)
    n = len(scores)
    cheap_cost = np.zeros(n) if cheap_cost is None else np.asarray(cheap_cost, dtype=float)
    strong_cost = np.zeros(n) if strong_cost is None else np.asarray(strong_cost, dtype=float)
    # Group tied scores; within a group, sending k of its m tasks to strong gains k/m of the group's total gain.
    order = np.argsort(scores, kind="stable")
    unique, starts = np.unique(scores[order], return_index=True)
    gains = (strong - cheap)[order]
    cost_gains = (strong_cost - cheap_cost)[order]
    group_sizes = np.diff(np.append(starts, n))
    group_gain = np.add.reduceat(gains, starts) if n else np.array([])
    group_cost = np.add.reduceat(cost_gains, starts) if n else np.array([])
    # cumulative gain at group boundaries (number of tasks sent to strong = boundary)
    boundaries = np.concatenate([[0], np.cumsum(group_sizes)])
    cumulative_gain = np.concatenate([[0.0], np.cumsum(group_gain)])
    cumulative_cost = np.concatenate([[0.0], np.cumsum(group_cost)])
    sent = GRID * n
    gain = np.interp(sent, boundaries, cumulative_gain)  # linear inside a tie group = even split
    extra_cost = np.interp(sent, boundaries, cumulative_cost)
    quality = (cheap.sum() + gain) / max(n, 1)
    cost = (cheap_cost.sum() + extra_cost) / max(n, 1)
    del unique
    return Curve(GRID.copy(), quality, cost)


def pgr(curve: Curve) -> np.ndarray:
    low, high = curve.quality[0], curve.quality[-1]
    if high <= low:
        return np.zeros_like(curve.quality)
    return (curve.quality - low) / (high - low)


def apgr(curve: Curve) -> float:
    return float(np.trapezoid(pgr(curve), curve.strong_share))


def cpt(curve: Curve, target: float) -> float:
    """Smallest share of strong calls whose PGR reaches `target` (1.0 when never)."""
    reached = np.nonzero(pgr(curve) >= target - 1e-12)[0]
    return float(curve.strong_share[reached[0]]) if len(reached) else 1.0


def cost_saved_at_quality(curve: Curve, share_of_strong_quality: float = 0.95) -> float:
    """1 − cost ÷ all-strong cost at the cheapest point reaching that share of the strong model's quality."""
    target = share_of_strong_quality * curve.quality[-1]
    reached = np.nonzero(curve.quality >= target - 1e-12)[0]
    if not len(reached) or curve.cost[-1] <= 0:
        return 0.0
    return float(1 - curve.cost[reached[0]] / curve.cost[-1])


def summary(curve: Curve) -> dict:
    return {
        "apgr": apgr(curve),
        "cpt_50": cpt(curve, 0.5),
        "cpt_80": cpt(curve, 0.8),
        "cost_saved_at_95pct_quality": cost_saved_at_quality(curve, 0.95),
        "quality_all_cheap": float(curve.quality[0]),
        "quality_all_strong": float(curve.quality[-1]),
    }


def handoff_accuracy(scores, threshold: float, cheap_outcome) -> float:
    """Share of tasks where the decision at `threshold` was right: sent to the cheap model and it succeeded, or sent
    to the strong model and the cheap model would have failed."""
    to_cheap = np.asarray(scores) >= threshold
    cheap = np.asarray(cheap_outcome, dtype=float)  # 0/1 outcomes, or success probabilities (expected accuracy)
    return float(np.mean(np.where(to_cheap, cheap, 1 - cheap)))


def bootstrap_apgr(scores, cheap_outcome, strong_outcome, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of APGR over tasks resampled with replacement."""
    samples = _resampled_apgr([scores], cheap_outcome, strong_outcome, resamples, seed)[0]
    return float(np.quantile(samples, 0.025)), float(np.quantile(samples, 0.975))


def paired_bootstrap_apgr(
    challenger, champion, cheap_outcome, strong_outcome, resamples: int = 1000, seed: int = 0
) -> dict:
    """APGR difference (challenger − champion) on the same tasks, with a paired bootstrap: both routers are scored on
    each resample of the same tasks, so the interval reflects the difference, not each router's own noise."""
    first, second = _resampled_apgr([challenger, champion], cheap_outcome, strong_outcome, resamples, seed)
    difference = first - second
    full = apgr(routing_curve(challenger, cheap_outcome, strong_outcome)) - apgr(
        routing_curve(champion, cheap_outcome, strong_outcome)
    )
    return {
        "difference": float(full),
        "low": float(np.quantile(difference, 0.025)),
        "high": float(np.quantile(difference, 0.975)),
        "share_not_better": float(np.mean(difference <= 0)),
        "resamples": resamples,
        "tasks": int(len(np.asarray(cheap_outcome))),
    }


def _resampled_apgr(score_sets, cheap_outcome, strong_outcome, resamples: int, seed: int) -> list[np.ndarray]:
    cheap, strong = np.asarray(cheap_outcome, dtype=float), np.asarray(strong_outcome, dtype=float)
    score_sets = [np.asarray(scores, dtype=float) for scores in score_sets]
    rng = np.random.default_rng(seed)
    results = [np.empty(resamples) for _ in score_sets]
    for index in range(resamples):
        rows = rng.integers(0, len(cheap), len(cheap))
        for result, scores in zip(results, score_sets, strict=True):
            result[index] = apgr(routing_curve(scores[rows], cheap[rows], strong[rows]))
    return results
