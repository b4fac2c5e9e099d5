"""The routing metrics on small hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest
from ml.routing import metrics


def test_perfect_router_on_four_tasks():
    # cheap succeeds on tasks 0 and 1 only; strong succeeds everywhere. A perfect router ranks 2 and 3 lowest.
    cheap, strong = [1, 1, 0, 0], [1, 1, 1, 1]
    curve = metrics.routing_curve([0.9, 0.8, 0.2, 0.1], cheap, strong, [1, 1, 1, 1], [10, 10, 10, 10])
    assert curve.quality[0] == 0.5 and curve.quality[-1] == 1.0
    assert metrics.cpt(curve, 0.5) == pytest.approx(0.25)  # one of four tasks to strong recovers half the gap
    assert metrics.cpt(curve, 1.0) == pytest.approx(0.5)
    # PGR rises linearly to 1 at c = 0.5 and stays there: area = 0.25 + 0.5 = 0.75
    assert metrics.apgr(curve) == pytest.approx(0.75, abs=1e-3)
    # 95% of strong quality (0.95) needs 0.45 of tasks on strong: cost 0.45*10 + 0.55*1 = 5.05 of 10
    assert metrics.cost_saved_at_quality(curve, 0.95) == pytest.approx(1 - 5.05 / 10, abs=0.01)


def test_constant_scores_trace_the_random_router():
    rng = np.random.default_rng(0)
    cheap, strong = rng.integers(0, 2, 200), np.ones(200)
    curve = metrics.routing_curve(np.full(200, 0.3), cheap, strong)
    assert metrics.apgr(curve) == pytest.approx(0.5, abs=1e-9)
    assert metrics.cpt(curve, 0.5) == pytest.approx(0.5)
    assert metrics.cpt(curve, 0.8) == pytest.approx(0.8)


def test_inverted_router_is_worse_than_random_and_accuracy_is_exact():
    cheap, strong = [1, 1, 0, 0], [1, 1, 1, 1]
    inverted = metrics.routing_curve([0.1, 0.2, 0.8, 0.9], cheap, strong)
    assert metrics.apgr(inverted) == pytest.approx(0.25, abs=1e-3)
    assert metrics.handoff_accuracy([0.9, 0.8, 0.2, 0.1], 0.5, cheap) == 1.0
    assert metrics.handoff_accuracy([0.9, 0.1, 0.2, 0.1], 0.5, cheap) == 0.75
    assert metrics.handoff_accuracy([0.9], 0.5, [0.7]) == pytest.approx(0.7)  # expected accuracy on probabilities
