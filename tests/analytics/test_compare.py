"""The significance test of comparisons says the right thing on data built to differ, or not to."""

from __future__ import annotations

import numpy as np
import pytest

from aioa.analytics.compare import compare_samples


def test_a_costlier_group_is_found_costlier_with_an_interval_above_zero():
    rng = np.random.default_rng(1)
    cheap = rng.lognormal(mean=0.0, sigma=0.5, size=200)
    costly = cheap * 2.0 + 0.1  # every session twice the price
    result = compare_samples(costly, cheap, label_a="team a", label_b="team b")
    assert result.significant and result.p_value < 1e-6
    assert result.median_difference == pytest.approx(np.median(costly) - np.median(cheap))
    assert 0 < result.ci_low <= result.median_difference <= result.ci_high
    assert result.verdict.startswith("team a costs more per session than team b")
    reverse = compare_samples(cheap, costly, label_a="team b", label_b="team a")
    assert reverse.significant and reverse.median_difference < 0 and reverse.ci_high < 0
    assert "costs less" in reverse.verdict


def test_two_samples_of_one_distribution_show_no_clear_difference():
    rng = np.random.default_rng(2)
    result = compare_samples(rng.lognormal(size=300), rng.lognormal(size=300))
    assert not result.significant and result.p_value > 0.05
    assert result.ci_low < 0 < result.ci_high
    assert result.verdict.startswith("No clear difference")


def test_unknown_costs_are_left_out_and_too_few_sessions_give_no_verdict():
    result = compare_samples([1.0, None, float("nan")], [2.0, 3.0], unpriced=2)
    assert (result.sessions_a, result.sessions_b, result.unpriced_sessions) == (1, 2, 2)
    assert result.p_value is None and not result.significant
    assert result.verdict.startswith("Too few sessions")


def test_the_bootstrap_is_repeatable():
    a, b = [1.0, 2.0, 3.0, 4.0, 9.0], [0.5, 1.0, 1.5, 2.0]
    assert compare_samples(a, b) == compare_samples(a, b)
