"""The threshold tuner never moves the threshold past its limits and rolls back on a quality drop; it aims at a
quality floor or a monthly budget by the off-policy (SNIPS) estimate of logged decisions, and `route()` serves the
threshold it applied (per org, for the champion it was tuned for)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from ml.routing import tuning
from ml.routing.tuning import TunerPolicy, guarded, run_tuner, tune_step

from aioa.settings import Settings

CHEAP, STRONG = "cheap-model", "strong-model"


def logged_decisions(
    rng: np.random.Generator,
    count: int,
    threshold: float,
    *,
    since: datetime,
    cheap_quality: float = 0.6,
    strong_quality: float = 0.9,
) -> pd.DataFrame:
    """Decisions of a router at `threshold` exploring 20%: the cheap model succeeds with probability
    cheap_quality + 0.4 × score, the strong one with strong_quality; cheap costs $0.001, strong $0.01."""
    score = rng.uniform(-1, 1, count)
    greedy_strong = score < threshold
    p_strong = np.where(greedy_strong, 0.8, 0.2)
    strong = rng.random(count) < p_strong
    p_success = np.where(strong, strong_quality, np.clip(cheap_quality + 0.4 * score, 0, 1))
    return pd.DataFrame(
        {
            "ts": [since + timedelta(minutes=index) for index in range(count)],
            "org_id": "acme",
            "router_version": "3",
            "routing_score": score,
            "threshold": threshold,
            "target": np.where(strong, STRONG, CHEAP),
            "action": strong.astype(int),
            "propensity": np.where(strong, p_strong, 1 - p_strong),
            "success": (rng.random(count) < p_success).astype(float),
            "cost_usd": np.where(strong, 0.01, 0.001),
        }
    )


def test_the_tuner_never_moves_the_threshold_past_its_limits():
    rng = np.random.default_rng(3)
    for _ in range(2000):
        low = rng.uniform(-1, 0.5)
        policy = TunerPolicy(
            threshold=0.0, max_step=rng.uniform(0.01, 0.3), min_threshold=low, max_threshold=low + rng.uniform(0, 0.5)
        )
        current, target = rng.uniform(-1, 1, 2)
        blocked = rng.choice([None, rng.uniform(-1, 1)])
        after = guarded(current, target, policy, blocked)
        assert policy.min_threshold <= after <= policy.max_threshold
        if policy.min_threshold <= current <= policy.max_threshold:
            assert abs(after - current) <= policy.max_step + 1e-12
            if blocked is not None and blocked != current:
                assert (after - blocked) * (current - blocked) > 0  # never reaches or crosses a rolled-back value
    # and through whole steps toward a floor no threshold inside the bounds can reach
    policy = TunerPolicy(quality_floor=0.99, max_step=0.04, min_threshold=-0.2, max_threshold=0.1)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    current, seen = 0.0, []
    for _ in range(12):
        decisions = logged_decisions(rng, 600, current, since=start)
        step = tune_step("acme", current, decisions, policy, {}, monthly_tasks=10_000)
        assert policy.min_threshold <= step.after <= policy.max_threshold
        assert abs(step.after - current) <= policy.max_step + 1e-12
        current = step.after
        seen.append(current)
    # pushed toward the quality end (a higher threshold sends more tasks to the strong model); near the bound the
    # candidates' estimated success differs by less than the noise, so it settles just under it
    assert min(seen[-3:]) > 0.05 and max(seen) <= 0.1
    # a requested value past the bound: one step at a time, then held at the bound
    policy = TunerPolicy(threshold=0.9, max_step=0.04, min_threshold=-0.2, max_threshold=0.1)
    current, seen = 0.0, []
    for _ in range(5):
        current = tune_step("acme", current, decisions, policy, {}, monthly_tasks=10_000).after
        seen.append(current)
    assert seen == pytest.approx([0.04, 0.08, 0.1, 0.1, 0.1])


def test_a_quality_drop_after_a_change_rolls_back_to_the_previous_threshold():
    rng = np.random.default_rng(5)
    applied_at = datetime(2026, 11, 10, tzinfo=UTC)
    policy = TunerPolicy(quality_floor=0.7, max_step=0.05, max_quality_drop=0.03)
    entry = {"previous": 0.10, "quality_before": 0.85, "applied_at": applied_at.isoformat()}
    # before the change: many good decisions under 0.10; after it, decisions under 0.15 succeed far less often
    decisions = pd.concat(
        [
            logged_decisions(rng, 400, 0.10, since=applied_at - timedelta(days=2), cheap_quality=0.8),
            logged_decisions(rng, 400, 0.15, since=applied_at, cheap_quality=0.2),
        ]
    )
    step = tune_step("acme", 0.15, decisions, policy, entry, monthly_tasks=10_000)
    assert step.outcome == "rolled_back" and step.after == pytest.approx(0.10)
    assert step.observed_decisions == 400 and step.observed_success < 0.85 - 0.03
    assert "fell more than" in step.reason
    # too few decisions under the new threshold yet: no verdict, no rollback
    early = tune_step("acme", 0.15, decisions.iloc[:420], policy, entry, monthly_tasks=10_000)
    assert early.outcome != "rolled_back"


def test_quality_floor_and_budget_pick_different_directions():
    rng = np.random.default_rng(9)
    decisions = logged_decisions(rng, 3000, 0.0, since=datetime(2026, 11, 1, tzinfo=UTC))
    floor = tune_step("acme", 0.0, decisions, TunerPolicy(quality_floor=0.6, max_step=0.1), {}, 10_000)
    budget = tune_step("acme", 0.0, decisions, TunerPolicy(monthly_budget_usd=10.0, max_step=0.1), {}, 10_000)
    # a low floor is met by sending more to the cheap model (a lower threshold sends fewer tasks to the strong one)
    assert floor.outcome == "moved" and floor.after < 0.0
    # $10 for 10,000 tasks is $0.001/task: only all-cheap fits, so the tuner moves toward cheap as well
    assert budget.after <= 0.0
    high = tune_step("acme", 0.0, decisions, TunerPolicy(quality_floor=0.85, max_step=0.1), {}, 10_000)
    assert high.after > 0.0  # a high floor needs the strong model more often


@pytest.fixture
def served(tmp_path) -> Settings:
    """A home whose serving champion is a small router fitted here (version 3, threshold 0.0)."""
    from ml.routing.model import fit
    from ml.routing.predict import Champion, reload, save_local_champion

    rows = []
    for index in range(120):
        easy = index % 2 == 0
        rows.append(
            {
                "task_text": f"rename variable {index}" if easy else f"prove the theorem about primes {index}",
                "task_type": "edit" if easy else "math",
                "project_id": "api",
                "input_tokens": 100.0,
                "cheap_success": 1.0 if easy else 0.0,
                "strong_success": 1.0 if index % 7 else 0.0,
            }
        )
    settings = Settings(home=tmp_path / "home")
    meta = {
        "cheap_model": CHEAP,
        "strong_model": STRONG,
        "threshold": 0.0,
        "cheap_cost_usd": 0.001,
        "strong_cost_usd": 0.01,
        "cheap_latency_ms": 100.0,
        "strong_latency_ms": 900.0,
    }
    save_local_champion(settings, Champion(fit(pd.DataFrame(rows)), meta, "3"))
    reload()
    yield settings
    reload()


def test_route_serves_the_applied_threshold_per_org_and_rolls_back(served):
    from ml.routing.predict import route, route_batch

    task = {"task_text": "rename variable 9999", "task_type": "edit", "project_id": "api", "org_id": "acme"}
    decision = route(task, served)
    assert decision.route == "cheap"
    wanted = min(decision.routing_score + 0.1, 1.0)  # just above the task's score: it goes to the strong model
    policy = TunerPolicy(threshold=wanted, max_step=1.0, min_threshold=-1.0, max_threshold=1.0)
    start = datetime.now(UTC) - timedelta(days=3)
    good = logged_decisions(np.random.default_rng(1), 200, 0.0, since=start, cheap_quality=0.8)
    step = run_tuner(served, "acme", policy, decisions=good)
    assert step.outcome == "moved" and step.after == pytest.approx(wanted)
    applied = tuning.read_thresholds(served)["acme"]
    assert applied["previous"] == 0.0 and applied["router_version"] == "3"
    assert applied["quality_before"] == pytest.approx(good["success"].mean())
    assert route(task, served).route == "strong"
    assert route(task | {"org_id": "globex"}, served).route == "cheap"  # another org keeps the champion's
    assert list(route_batch([task, task | {"org_id": "globex"}], served)["route"]) == ["strong", "cheap"]

    # the success observed under the new threshold drops: the next step puts the previous one back
    since = datetime.fromisoformat(applied["applied_at"]) + timedelta(seconds=1)
    worse = logged_decisions(np.random.default_rng(2), 100, wanted, since=since, strong_quality=0.3)
    step = run_tuner(served, "acme", policy, decisions=pd.concat([good, worse]))
    assert step.outcome == "rolled_back" and step.after == 0.0
    applied = tuning.read_thresholds(served)["acme"]
    assert applied["threshold"] == 0.0 and applied["blocked"] == pytest.approx(wanted)
    assert [entry["outcome"] for entry in applied["history"]] == ["moved", "rolled_back"]
    assert route(task, served).route == "cheap"
    # and the requested value, rolled back once, is not tried again
    again = run_tuner(served, "acme", policy, decisions=pd.concat([good, worse]))
    assert again.after < wanted


def test_a_rule_asks_and_the_dagster_bridge_applies_one_guarded_step(served, monkeypatch):
    from dagster import RunRequest, SkipReason, build_sensor_context
    from orchestration.defs.rules.jobs import tune_router_threshold
    from orchestration.defs.rules.resources import RulesResource
    from orchestration.defs.rules.sensors import rule_requested_threshold

    from aioa.rules.engine import evaluate_all
    from aioa.rules.store import save_rule

    monkeypatch.setenv("AIOA_HOME", str(served.home))
    rule = {
        "name": "nightly-threshold",
        "trigger": {"kind": "schedule", "cron": "* * * * *"},
        "actions": [{"type": "set_router_threshold", "threshold": 0.9, "max_step": 0.05, "max_threshold": 0.3}],
    }
    save_rule(served, "acme", rule)
    (result,) = evaluate_all(served, "acme")
    assert result.fired and result.actions[0]["status"] == "requested"
    resource = RulesResource(aioa_home=str(served.home))
    request = rule_requested_threshold(build_sensor_context(resources={"rules": resource}))
    assert isinstance(request, RunRequest)
    run = tune_router_threshold.execute_in_process(resources={"rules": resource})
    assert run.success and run.output_for_node("tune_router_threshold_op")["outcomes"] == ["moved"]
    assert tuning.read_thresholds(served)["acme"]["threshold"] == pytest.approx(0.05)  # one step from 0.0
    assert isinstance(rule_requested_threshold(build_sensor_context(resources={"rules": resource})), SkipReason)
