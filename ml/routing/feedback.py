"""Off-policy evaluation from production feedback: in production only the chosen model's outcome is seen, so a
candidate router's success rate and cost are estimated from logged decisions and their propensities.

Estimators (value V(π) = E[r(x, π(x))] of a candidate policy π from data logged by a policy μ):
- IPS:   mean of  w·r,  w = π(a|x) / μ(a|x)                       (unbiased; high variance)
- SNIPS: Σ w·r / Σ w                                              (self-normalised; small bias, lower variance)
- DR:    mean of  Σ_a π(a|x) q̂(x,a) + w·(r − q̂(x,a))              (doubly robust: unbiased if μ is right,
         low variance when the reward model q̂ is good)
Each comes with a 95% normal confidence interval from the per-decision contributions (delta method for SNIPS).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from aioa.settings import Settings

Z_95 = 1.959964
MIN_LOGGED = 30


class FeedbackDataError(ValueError):
    """Logged feedback that cannot support an estimate; the message says why."""


@dataclass(frozen=True)
class Estimate:
    value: float
    std_error: float
    low: float
    high: float
    n: int

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high


def _estimate(contributions: np.ndarray) -> Estimate:
    n = len(contributions)
    value = float(contributions.mean())
    error = float(contributions.std(ddof=1) / np.sqrt(n))
    return Estimate(value, error, value - Z_95 * error, value + Z_95 * error, n)


def validate(action, propensity, reward) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays of logged actions (1 = strong, 0 = cheap), propensities and rewards, or a clear refusal."""
    action, propensity = np.asarray(action, dtype=float), np.asarray(propensity, dtype=float)
    reward = np.asarray(reward, dtype=float)
    if not (len(action) == len(propensity) == len(reward)):
        raise FeedbackDataError("actions, propensities and rewards differ in length")
    if len(action) < MIN_LOGGED:
        raise FeedbackDataError(
            f"too little logged feedback: {len(action)} decisions with outcomes, need at least {MIN_LOGGED}"
        )
    missing = int(np.isnan(propensity).sum())
    if missing:
        raise FeedbackDataError(
            f"{missing} logged decisions have no propensity: off-policy estimates need the "
            "probability with which each route was chosen (log decisions with route(..., log=True))"
        )
    outside = int(((propensity <= 0) | (propensity > 1)).sum())
    if outside:
        raise FeedbackDataError(
            f"{outside} logged decisions have a propensity outside (0, 1] (e.g. 0): a route "
            "chosen with probability 0 cannot be reweighted; fix the logging policy"
        )
    if np.isnan(reward).any() or np.isnan(action).any():
        raise FeedbackDataError("some logged decisions have no outcome or no action; drop them before estimating")
    if not np.isin(action, (0.0, 1.0)).all():
        raise FeedbackDataError("logged actions must be 0 (cheap) or 1 (strong)")
    return action.astype(int), propensity, reward


def _target_probability(action: np.ndarray, target_strong: np.ndarray) -> np.ndarray:
    """π(logged action | x) for a candidate that sends x to the strong model with probability target_strong."""
    target_strong = np.asarray(target_strong, dtype=float)
    return np.where(action == 1, target_strong, 1.0 - target_strong)


def ips(action, propensity, reward, target_strong) -> Estimate:
    action, propensity, reward = validate(action, propensity, reward)
    weights = _target_probability(action, target_strong) / propensity
    return _estimate(weights * reward)


def snips(action, propensity, reward, target_strong) -> Estimate:
    action, propensity, reward = validate(action, propensity, reward)
    weights = _target_probability(action, target_strong) / propensity
    if weights.sum() <= 0:
        raise FeedbackDataError("the candidate never takes a logged action: no overlap with the logging policy")
    value = float((weights * reward).sum() / weights.sum())
    # delta method: Var ≈ Σ w²(r − V)² / (Σ w)²
    error = float(np.sqrt(np.sum(weights**2 * (reward - value) ** 2)) / weights.sum())
    return Estimate(value, error, value - Z_95 * error, value + Z_95 * error, len(reward))


def reward_model(features, action, reward) -> np.ndarray:
    """q̂(x, a) for a in (cheap, strong): per action a logistic (0/1 rewards) or linear (costs) model fit on the
    decisions that took it; the action's mean reward where too few decisions took it."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    features = np.asarray(features, dtype=float).reshape(len(reward), -1)
    action, reward = np.asarray(action), np.asarray(reward, dtype=float)
    binary = np.isin(reward, (0.0, 1.0)).all()
    predicted = np.empty((len(reward), 2))
    for arm in (0, 1):
        taken = action == arm
        rewards = reward[taken]
        fallback = float(rewards.mean()) if taken.any() else float(reward.mean())
        if taken.sum() < 10 or (binary and len(np.unique(rewards)) < 2):
            predicted[:, arm] = fallback
        elif binary:
            model = LogisticRegression(C=1.0).fit(features[taken], rewards.astype(int))
            predicted[:, arm] = model.predict_proba(features)[:, 1]
        else:
            predicted[:, arm] = LinearRegression().fit(features[taken], rewards).predict(features)
    return predicted


def doubly_robust(action, propensity, reward, target_strong, features) -> Estimate:
    action, propensity, reward = validate(action, propensity, reward)
    target_strong = np.asarray(target_strong, dtype=float)
    predicted = reward_model(features, action, reward)
    direct = (1.0 - target_strong) * predicted[:, 0] + target_strong * predicted[:, 1]
    weights = _target_probability(action, target_strong) / propensity
    return _estimate(direct + weights * (reward - predicted[np.arange(len(action)), action]))


def evaluate_policy(action, propensity, reward, target_strong, features) -> dict[str, Estimate]:
    """The logging policy's own mean (on-policy) and the candidate's IPS, SNIPS and DR estimates."""
    action, propensity, reward = validate(action, propensity, reward)
    return {
        "logging_policy": _estimate(reward),
        "ips": ips(action, propensity, reward, target_strong),
        "snips": snips(action, propensity, reward, target_strong),
        "dr": doubly_robust(action, propensity, reward, target_strong, features),
    }


def load_feedback(settings: Settings, cheap_model: str) -> tuple[pd.DataFrame, str]:
    """Logged decisions with outcomes: our decisions log joined to handoff outcomes when it has any, else the
    handoffs whose router logged propensities. Adds `action` (1 = strong)."""
    from ml.routing.decisions import decisions_with_outcomes, logged_handoffs

    frame, source = decisions_with_outcomes(settings), "decisions log"
    if frame.empty:
        frame, source = logged_handoffs(settings), "handoffs with logged propensities"
    if frame.empty:
        raise FeedbackDataError(
            "no logged decisions with outcomes yet: route in production mode "
            "(route(task, explore=True, log=True)) and ingest the handoff outcomes"
        )
    return frame.assign(action=(frame["target"] != cheap_model).astype(int)), source


def offline_evaluation(settings: Settings) -> dict:
    """The champion's success rate and cost per task estimated from logged feedback, beside the logging policy's."""
    from ml.routing.predict import champion, route_batch

    current = champion(settings)
    frame, source = load_feedback(settings, current.meta["cheap_model"])
    decisions = route_batch(frame, settings)
    target_strong = (decisions["route"] == "strong").to_numpy(dtype=float)
    score = np.clip(decisions["confidence"].to_numpy(), 1e-4, 1 - 1e-4)
    features = np.log(score / (1 - score)).reshape(-1, 1)  # the candidate's own logit: a good reward feature
    result = {
        "source": source,
        "router_version": current.version,
        "decisions": len(frame),
        "agreement_with_logged": float(np.mean(target_strong == frame["action"].to_numpy())),
        "candidate_strong_share": float(target_strong.mean()),
    }
    for metric, column in (("success", "success"), ("cost_usd", "cost_usd")):
        estimates = evaluate_policy(frame["action"], frame["propensity"], frame[column], target_strong, features)
        result[metric] = {name: asdict(estimate) for name, estimate in estimates.items()}
    return result
