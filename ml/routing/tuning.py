"""Self-tuning of the router's threshold per org: toward a quality floor or a monthly budget, judged by the
off-policy estimate (`feedback.snips`) of each candidate threshold on the org's logged decisions, inside guard
rails, and rolled back when the quality observed after a change drops.

Guard rails (`TunerPolicy`): a step moves the threshold by at most `max_step`; the result always lies in
[`min_threshold`, `max_threshold`]; after a change, once `min_decisions` decisions made under it have outcomes, an
observed success rate more than `max_quality_drop` below the rate before the change (or under the floor that was
met before) puts the previous threshold back, and the tuner does not move past the rolled-back value again.

The applied thresholds live in `<home>/models/router/thresholds.json` (one entry per org, for one champion
version): `predict.route()` and `route_batch()` read them through `threshold_for()`; a newly promoted champion
serves its own threshold until the tuner runs for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from aioa.atomic_files import exclusive, write_text_atomically
from aioa.settings import Settings
from ml.routing import stored
from ml.routing.feedback import MIN_LOGGED, FeedbackDataError, snips

CANDIDATES = 21  # thresholds judged per step, evenly over the reachable window


@dataclass(frozen=True)
class TunerPolicy:
    """What to aim for (one of `quality_floor`, `monthly_budget_usd` or a requested `threshold`) and the guard
    rails."""

    threshold: float | None = None  # a value asked for by a rule: approached within the guard rails
    quality_floor: float | None = None  # success rate to keep (lower 95% bound of the estimate)
    monthly_budget_usd: float | None = None  # routed spend per month to stay under (upper 95% bound)
    monthly_tasks: float | None = None  # tasks per month for the budget (default: the org's last 30 days)
    max_step: float = 0.05
    min_threshold: float = -0.5
    max_threshold: float = 0.5
    max_quality_drop: float = 0.03
    min_decisions: int = MIN_LOGGED

    def __post_init__(self) -> None:
        if sum(aim is not None for aim in (self.threshold, self.quality_floor, self.monthly_budget_usd)) != 1:
            raise ValueError("a tuner aims for exactly one of threshold, quality_floor or monthly_budget_usd")
        if not self.min_threshold <= self.max_threshold or self.max_step <= 0:
            raise ValueError("min_threshold must not exceed max_threshold, and max_step must be positive")

    @classmethod
    def from_parameters(cls, parameters: dict) -> TunerPolicy:
        names = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in parameters.items() if key in names and value is not None})


@dataclass
class Step:
    """One tuner step: the threshold before and after, what happened (moved, held, rolled_back) and why."""

    org_id: str
    before: float
    after: float
    outcome: str
    reason: str
    observed_success: float | None = None
    observed_decisions: int = 0
    estimates: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def guarded(current: float, target: float, policy: TunerPolicy, blocked: float | None = None) -> float:
    """`target` limited to one step from `current`, never past a rolled-back value, and always inside the bounds."""
    low, high = current - policy.max_step, current + policy.max_step
    if blocked is not None:  # a threshold that was rolled back is not tried again
        if blocked > current:
            high = min(high, blocked - 1e-9)
        elif blocked < current:
            low = max(low, blocked + 1e-9)
    value = min(max(target, low), high)
    return float(min(max(value, policy.min_threshold), policy.max_threshold))


def needs_rollback(observed: float | None, decisions: int, entry: dict, policy: TunerPolicy) -> str | None:
    """Why the last change must be undone (None: keep it): the success observed under it, against before."""
    before = entry.get("quality_before")
    if entry.get("previous") is None or observed is None or decisions < policy.min_decisions or before is None:
        return None
    if observed < before - policy.max_quality_drop:
        return (
            f"observed success {observed:.1%} over {decisions} decisions fell more than "
            f"{policy.max_quality_drop:.1%} below {before:.1%} before the change"
        )
    floor = policy.quality_floor
    if floor is not None and observed < floor <= before:
        return f"observed success {observed:.1%} fell under the floor {floor:.1%} (it was {before:.1%} before)"
    return None


def estimate_candidates(feedback: pd.DataFrame, thresholds: np.ndarray) -> pd.DataFrame:
    """Per candidate threshold, the off-policy (SNIPS) success rate and cost per task with 95% bounds, from logged
    decisions (`routing_score`, `action` 1 = strong, `propensity`, `success`, `cost_usd`)."""
    score = feedback["routing_score"].to_numpy(dtype=float)
    action, propensity = feedback["action"].to_numpy(), feedback["propensity"].to_numpy(dtype=float)
    rows = []
    for threshold in thresholds:
        strong = (score < threshold).astype(float)  # route() sends a task to the cheap model at score >= threshold
        try:
            success = snips(action, propensity, feedback["success"].to_numpy(dtype=float), strong)
            cost = snips(action, propensity, feedback["cost_usd"].to_numpy(dtype=float), strong)
        except FeedbackDataError:
            continue  # no overlap with the logged routes: this candidate cannot be judged
        rows.append(
            {
                "threshold": float(threshold),
                "success": success.value,
                "success_low": success.low,
                "cost_usd": cost.value,
                "cost_usd_high": cost.high,
                "strong_share": float(strong.mean()),
            }
        )
    return pd.DataFrame(rows)


def choose_target(estimates: pd.DataFrame, policy: TunerPolicy, monthly_tasks: float) -> tuple[float | None, str]:
    """The candidate that meets the aim at the least cost (floor) or the best quality (budget); when none meets
    it, the one closest to it."""
    if estimates.empty:
        return None, "no candidate threshold could be estimated from the logged decisions"
    if policy.quality_floor is not None:
        meeting = estimates[estimates["success_low"] >= policy.quality_floor]
        if meeting.empty:
            best = estimates.loc[estimates["success"].idxmax()]
            return best["threshold"], f"no candidate reaches the floor {policy.quality_floor:.1%}: the best quality"
        best = meeting.loc[meeting["cost_usd"].idxmin()]
        return best["threshold"], (
            f"the cheapest candidate (${best['cost_usd']:.4f}/task) whose success {best['success']:.1%} "
            f"(95% low {best['success_low']:.1%}) keeps the floor {policy.quality_floor:.1%}"
        )
    monthly = estimates["cost_usd_high"] * monthly_tasks
    meeting = estimates[monthly <= policy.monthly_budget_usd]
    if meeting.empty:
        best = estimates.loc[estimates["cost_usd"].idxmin()]
        return best["threshold"], f"no candidate stays under ${policy.monthly_budget_usd:,.0f}/month: the cheapest"
    best = meeting.loc[meeting["success"].idxmax()]
    return best["threshold"], (
        f"the best-quality candidate ({best['success']:.1%}) whose spend "
        f"(${best['cost_usd_high'] * monthly_tasks:,.0f}/month, 95% high) stays under "
        f"${policy.monthly_budget_usd:,.0f}"
    )


# --- the applied thresholds -----------------------------------------------------------------------------------------


def thresholds_path(settings: Settings) -> Path:
    return settings.home / "models" / "router" / "thresholds.json"


def read_thresholds(settings: Settings) -> dict:
    """The tuned thresholds per org (read once per version of the file); {} before any was tuned."""
    return stored.read(thresholds_path(settings), json.load) or {}


def threshold_for(settings: Settings, champion, org_id: str | None) -> float:
    """The threshold `route()` applies for an org: the tuner's, if it was set for this champion version; else the
    champion's own."""
    entry = read_thresholds(settings).get(org_id or "") if org_id else None
    if entry and entry.get("router_version") == champion.version:
        return float(entry["threshold"])
    return float(champion.meta["threshold"])


def apply(settings: Settings, org_id: str, entry: dict) -> None:
    """Write the org's entry (atomically: route() in other processes reads the file), under the file's lock: two
    orgs tuned at once both keep their entry."""
    path = thresholds_path(settings)
    with exclusive(path):
        document = dict(read_thresholds(settings))  # a copy: the cached one is shared
        document[org_id] = entry
        write_text_atomically(path, json.dumps(document, indent=2, default=str))


# --- one step for one org -------------------------------------------------------------------------------------------


def observed_success(decisions: pd.DataFrame, threshold: float, since) -> tuple[float | None, int]:
    """On-policy success rate of the decisions made under `threshold` (since `since`), and how many."""
    if decisions.empty:
        return None, 0
    under = decisions[np.isclose(decisions["threshold"].astype(float), threshold)]
    if since is not None:
        start = pd.Timestamp(since)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        under = under[pd.to_datetime(under["ts"], utc=True) >= start]  # the decisions log's times are naive UTC
    return (float(under["success"].mean()) if len(under) else None), len(under)


def tune_step(
    org_id: str, current: float, decisions: pd.DataFrame, policy: TunerPolicy, entry: dict, monthly_tasks: float
) -> Step:
    """Roll back if the last change hurt; else move one guarded step toward the aim. `decisions`: the org's logged
    decisions of the serving champion with outcomes and `action` (1 = strong)."""
    since = entry.get("applied_at")
    observed, count = observed_success(decisions, current, since)
    why = needs_rollback(observed, count, entry, policy)
    if why is not None:
        back = guarded(entry["previous"], entry["previous"], policy)  # the bounds hold for a rollback too
        return Step(org_id, current, back, "rolled_back", why, observed, count)
    if policy.threshold is not None:
        after = guarded(current, policy.threshold, policy, entry.get("blocked"))
        outcome = "moved" if not np.isclose(after, current) else "held"
        return Step(org_id, current, after, outcome, f"requested {policy.threshold:+.3f}", observed, count)
    window = np.linspace(
        max(current - policy.max_step, policy.min_threshold),
        min(current + policy.max_step, policy.max_threshold),
        CANDIDATES,
    )
    estimates = estimate_candidates(decisions, window) if len(decisions) >= policy.min_decisions else pd.DataFrame()
    if estimates.empty:
        reason = f"{len(decisions)} logged decisions with outcomes; the tuner needs {policy.min_decisions}"
        return Step(org_id, current, guarded(current, current, policy), "held", reason, observed, count)
    target, reason = choose_target(estimates, policy, monthly_tasks)
    after = guarded(current, target, policy, entry.get("blocked"))
    outcome = "moved" if not np.isclose(after, current) else "held"
    return Step(org_id, current, after, outcome, reason, observed, count, estimates.to_dict("records"))


def run_tuner(settings: Settings, org_id: str, policy: TunerPolicy, *, decisions: pd.DataFrame | None = None) -> Step:
    """One step for the org against the serving champion, applied (and recorded in the entry's history)."""
    from ml.routing.predict import champion

    current_champion = champion(settings)
    frame = _logged(settings) if decisions is None else decisions
    frame = frame[(frame["org_id"] == org_id) & (frame["router_version"].astype(str) == current_champion.version)]
    frame = frame.dropna(subset=["routing_score", "propensity", "success", "cost_usd"])
    frame = frame.assign(action=(frame["target"] != current_champion.meta["cheap_model"]).astype(int))
    entry = read_thresholds(settings).get(org_id, {})
    if entry.get("router_version") != current_champion.version:
        entry = {}  # a new champion: its own threshold is the starting point
    current = threshold_for(settings, current_champion, org_id)
    monthly_tasks = policy.monthly_tasks or _monthly_tasks(frame)
    step = tune_step(org_id, current, frame, policy, entry, monthly_tasks)
    now = datetime.now(UTC).isoformat()
    history = [*entry.get("history", []), {"at": now} | {k: v for k, v in step.to_dict().items() if k != "estimates"}]
    if step.outcome == "rolled_back":
        entry = entry | {"threshold": step.after, "previous": None, "blocked": current, "applied_at": now}
    elif step.outcome == "moved":
        before, _ = observed_success(frame, current, entry.get("applied_at"))
        entry = entry | {"threshold": step.after, "previous": current, "quality_before": before, "applied_at": now}
    else:
        entry = entry | {"threshold": step.after}
    apply(settings, org_id, entry | {"router_version": current_champion.version, "history": history[-50:]})
    return step


def _logged(settings: Settings) -> pd.DataFrame:
    """The decisions log joined to outcomes; without a snapshot, the decisions alone (no outcomes yet)."""
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.routing.decisions import decisions_with_outcomes, read_decisions

    try:
        return decisions_with_outcomes(settings)
    except NoSnapshotError:
        return read_decisions(settings).assign(success=float("nan"), cost_usd=float("nan"))


def _monthly_tasks(frame: pd.DataFrame) -> float:
    """Tasks per month from the logged decisions' own rate (decisions per day over their span × 30)."""
    if frame.empty:
        return 0.0
    times = pd.to_datetime(frame["ts"])
    days = max((times.max() - times.min()).total_seconds() / 86400, 1.0)
    return len(frame) / days * 30


def apply_requests(settings: Settings) -> list[Step]:
    """Carry out the rules' pending `set_router_threshold` requests (one tuner step per request, in order)."""
    from aioa.rules.requests import take_pending_requests
    from ml.routing.predict import RouterUnavailable

    steps = []
    for request in take_pending_requests(settings, "set_router_threshold"):
        try:
            steps.append(run_tuner(settings, request["org_id"], TunerPolicy.from_parameters(request["parameters"])))
        except RouterUnavailable as error:  # nothing to tune yet: said, not retried
            steps.append(Step(request["org_id"], float("nan"), float("nan"), "skipped", str(error)))
    return steps
