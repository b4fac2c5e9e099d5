"""A/B experiments: assignment is stable and proportional, salted per experiment; the lift's 95% interval covers
the true difference about 95% of the time on simulated experiments; bad input is refused with a clear message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml.routing.experiments import ExperimentDataError, assign, assign_many, experiment_report, lift

ARMS = {"v1": 0.8, "v2": 0.2}


def test_assignment_is_stable_proportional_and_salted():
    units = [f"task-{index:06d}" for index in range(20_000)]
    arms = assign_many(units, "exp-a", ARMS)
    assert list(arms[:50]) == [assign(unit, "exp-a", ARMS) for unit in units[:50]]  # scalar == vectorised
    assert (assign_many(list(reversed(units)), "exp-a", ARMS)[::-1] == arms).all()  # order does not matter
    share = float(np.mean(arms == "v2"))
    assert abs(share - 0.2) < 3 * np.sqrt(0.2 * 0.8 / len(units))  # within 3 binomial standard errors
    other = assign_many(units, "exp-b", {"v1": 0.5, "v2": 0.5})
    same = assign_many(units, "exp-b", {"v1": 0.5, "v2": 0.5})
    assert (other == same).all()
    # a new salt reshuffles: agreement with the first experiment's v2 units is what independence predicts (50%)
    assert abs(float(np.mean(other[arms == "v2"] == "v2")) - 0.5) < 0.03
    assert set(assign_many(units[:200], "exp-c", {"a": 1, "b": 0, "c": 1})) == {"a", "c"}  # weight 0 gets none


def test_lift_interval_covers_the_true_difference_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    covered_success, covered_cost, repeats = 0, 0, 400
    for _ in range(repeats):
        control, treatment = rng.random(1500) < 0.60, rng.random(1500) < 0.65
        covered_success += lift(control, treatment).low <= 0.05 <= lift(control, treatment).high
        cost_control = rng.lognormal(np.log(0.01), 1.0, 1500)
        cost_treatment = rng.lognormal(np.log(0.01), 1.0, 1500) * 0.8
        true_difference = 0.01 * np.exp(0.5) * (0.8 - 1.0)  # lognormal mean = exp(mu + sigma²/2)
        result = lift(cost_control, cost_treatment, "cost_usd")
        covered_cost += result.low <= true_difference <= result.high
    assert 0.92 <= covered_success / repeats <= 0.98
    assert 0.91 <= covered_cost / repeats <= 0.98
    exact = lift([1] * 60 + [0] * 40, [1] * 70 + [0] * 30)
    # hand-computed: 0.7 − 0.6 = 0.1, se = sqrt(.24/100 + .21/100) = 0.0671
    assert exact.difference == pytest.approx(0.1)
    assert exact.high - exact.difference == pytest.approx(1.959964 * np.sqrt(0.0045), rel=1e-6)
    assert exact.relative == pytest.approx(0.1 / 0.6)


def test_report_per_org_and_clear_refusals():
    rng = np.random.default_rng(5)
    units = [f"u{index}" for index in range(4000)]
    arms = assign_many(units, "router-v2-vs-v1", {"1": 0.5, "2": 0.5})
    success = np.where(arms == "2", rng.random(4000) < 0.75, rng.random(4000) < 0.6).astype(float)
    frame = pd.DataFrame(
        {
            "org_id": np.where(np.arange(4000) % 2, "acme", "initech"),
            "router_version": arms,
            "success": success,
            "cost_usd": rng.gamma(2.0, 0.01, 4000),
        }
    )
    report = experiment_report(frame, control="1")
    assert set(report["org_id"]) == {"acme", "initech"} and set(report["metric"]) == {"success", "cost_usd"}
    success_rows = report[report["metric"] == "success"]
    assert (success_rows["low"] > 0.05).all() and (success_rows["high"] < 0.25).all()  # true lift 0.15
    with pytest.raises(ExperimentDataError, match="at least two arms"):
        assign("u1", "exp", {"only": 1.0})
    with pytest.raises(ExperimentDataError, match="non-negative"):
        assign("u1", "exp", {"a": -1.0, "b": 1.0})
    with pytest.raises(ExperimentDataError, match="control arm '9'"):
        experiment_report(frame, control="9")
    with pytest.raises(ExperimentDataError, match="only one arm"):
        experiment_report(frame[frame.router_version == "1"], control="1")
    with pytest.raises(ExperimentDataError, match="too few outcomes"):
        lift([1, 0, 1], [1, 1, 1, 0])
