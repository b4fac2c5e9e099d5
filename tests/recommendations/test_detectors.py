"""Each recommendation kind fires on a case built to trigger it, with the saving computed here by hand, and stays
silent on a case built not to."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from aioa.recommendations import detectors
from aioa.recommendations.summaries import phrase, template_summary

PRICES = pd.DataFrame(
    [
        # org, model, provider, input, output, cache read, cache write (USD per million tokens)
        ("acme", "claude-opus-4-6", "anthropic", 5.0, 25.0, 0.5, 6.25),
        ("acme", "claude-haiku-4-5", "anthropic", 1.0, 5.0, 0.1, 1.25),
        ("acme", "gpt-4o", "openai", 2.5, 10.0, 1.25, 2.5),
    ],
    columns=[
        "org_id",
        "model",
        "provider",
        "input_price_per_mtok",
        "output_price_per_mtok",
        "cache_read_price_per_mtok",
        "cache_write_5m_price_per_mtok",
    ],
)


def _handoffs(cheap_success_when_explored: float) -> pd.DataFrame:
    """300 logged docs handoffs in 90 days: 200 to the strong model (propensity 0.8, success 0.9, $0.40 each) and 100
    to the cheap one: 50 chosen on purpose (propensity 0.8, success 1.0) and 50 explored (propensity 0.2, success as
    given), $0.02 each."""
    rows = [("strong-model", 0.8, float(index % 10 != 0), 0.40) for index in range(200)]
    rows += [("cheap-model", 0.8, 1.0, 0.02) for _ in range(50)]
    rows += [("cheap-model", 0.2, float(index < 50 * cheap_success_when_explored), 0.02) for index in range(50)]
    frame = pd.DataFrame(rows, columns=["target_model", "propensity", "success", "cost_usd"])
    return frame.assign(org_id="acme", task_type="documentation", day=date(2026, 11, 1))


def test_route_to_cheaper_fires_with_the_snips_saving_and_quality_change():
    handoffs = _handoffs(cheap_success_when_explored=0.9)
    (item,) = detectors.route_to_cheaper(handoffs, window_days=90)
    cheap = handoffs[handoffs["target_model"] == "cheap-model"]
    weights = 1 / cheap["propensity"]  # the never-strong policy's weight on the cheap rows; 0 on the strong ones
    success_if_cheap = (weights * cheap["success"]).sum() / weights.sum()  # (50·1.25·1 + 50·5·0.9) / 312.5 = 0.92
    cost_if_cheap = (weights * cheap["cost_usd"]).sum() / weights.sum()
    expected_saving = (handoffs["cost_usd"].mean() - cost_if_cheap) * 300 * 30 / 90
    assert success_if_cheap == pytest.approx(0.92)
    assert item.kind == "route_to_cheaper" and item.subject == "documentation"
    assert item.evidence["cheap_model"] == "cheap-model"
    assert item.monthly_saving_usd == pytest.approx(expected_saving)  # (82 / 300 - 0.02) · 300 / 3
    assert item.monthly_saving_usd == pytest.approx(76 / 3)
    assert item.evidence["quality_change"] == pytest.approx(success_if_cheap - handoffs["success"].mean())


def test_route_to_cheaper_stays_silent_when_the_cheap_model_fails_explored_tasks():
    # explored (unbiased) tasks show the cheap model succeeding half the time: success would drop by ~0.3
    assert detectors.route_to_cheaper(_handoffs(cheap_success_when_explored=0.5), window_days=90) == []


def test_route_to_cheaper_counts_every_handoff_of_the_type_in_the_volume():
    unknown = _handoffs(0.9).head(60).assign(success=np.nan, propensity=np.nan)  # 60 more without an outcome
    (item,) = detectors.route_to_cheaper(pd.concat([_handoffs(0.9), unknown]), window_days=90)
    assert item.evidence["handoffs"] == 360 and item.evidence["handoffs_estimated_on"] == 300
    assert item.monthly_saving_usd == pytest.approx((82 / 300 - 0.02) * 360 / 3)


def test_route_to_cheaper_needs_logged_propensities():
    assert detectors.route_to_cheaper(_handoffs(0.9).assign(propensity=np.nan), window_days=90) == []


def _cache(read_tokens: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("acme", "core-ledger", "claude-opus-4-6", 1_000_000.0, read_tokens, 0.0),
            ("acme", "core-ledger", "claude-haiku-4-5", 500_000.0, 0.0, 0.0),
        ],
        columns=["org_id", "project_id", "model", "input_tokens", "cache_read_tokens", "cache_write_tokens"],
    )


def test_low_cache_hit_fires_with_the_saving_of_reaching_the_target():
    (item,) = detectors.low_cache_hit(_cache(100_000.0), PRICES, window_days=28)
    hit = 100_000 / 1_600_000
    # per model: (0.8 - hit) × its input-side tokens × (input − cache-read price) per token, 28 days → 30
    expected = ((0.8 - hit) * 1_100_000 * 4.5 / 1e6 + (0.8 - hit) * 500_000 * 0.9 / 1e6) * 30 / 28
    assert item.subject == "core-ledger" and item.evidence["cache_hit_rate"] == pytest.approx(hit)
    assert item.monthly_saving_usd == pytest.approx(expected)


def test_low_cache_hit_stays_silent_for_a_well_cached_project():
    assert detectors.low_cache_hit(_cache(9_000_000.0), PRICES, window_days=28) == []


def _short_calls(model: str, calls: int) -> pd.DataFrame:
    return pd.DataFrame(
        [("acme", "billing", model, calls, 1_000_000.0, 2_000_000.0, 400_000.0, 100_000.0, 55.825)],
        columns=[
            "org_id",
            "project_id",
            "model",
            "calls",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "cost_usd",
        ],
    )


def test_short_calls_on_the_most_expensive_model_are_repriced_at_the_cheapest_of_its_provider():
    (item,) = detectors.expensive_model_short_tasks(_short_calls("claude-opus-4-6", 120), PRICES, window_days=28)
    haiku = 1.0 * 1.0 + 2.0 * 5.0 + 0.4 * 0.1 + 0.1 * 1.25  # millions of tokens × haiku's prices = $11.165
    assert item.evidence["cheaper_model"] == "claude-haiku-4-5"  # same provider; gpt-4o is not a candidate
    assert item.evidence["cost_at_cheaper_model_usd"] == pytest.approx(haiku)
    assert item.monthly_saving_usd == pytest.approx((55.825 - haiku) * 30 / 28)


def test_short_calls_stay_silent_below_the_minimum_or_on_the_cheapest_model():
    assert detectors.expensive_model_short_tasks(_short_calls("claude-opus-4-6", 5), PRICES, 28) == []
    assert detectors.expensive_model_short_tasks(_short_calls("claude-haiku-4-5", 500), PRICES, 28) == []


def _anomalies(kind: str, start: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            # the day and one hour inside it: the hour must not be counted again
            (kind, "day", pd.Timestamp(start), "calls", 410.0, 10.0, "ivan", "core-ledger"),
            (kind, "hour", pd.Timestamp(start), "calls", 300.0, 1.0, "ivan", "core-ledger"),
        ],
        columns=["kind", "grain", "start", "metric", "observed", "expected", "driver_user", "driver_project"],
    ).assign(org_id="initech")


SPEND = pd.DataFrame({"org_id": ["initech"], "cost_usd": [250.0], "calls": [1000.0]})


def test_runaway_agent_prices_the_excess_calls_at_the_orgs_cost_per_call():
    (item,) = detectors.runaway_agents(_anomalies("runaway_agent", "2026-11-18"), SPEND, date(2026, 11, 20), 28)
    assert item.subject == "ivan" and item.evidence["episodes"] == 1
    assert item.monthly_saving_usd == pytest.approx((410 - 10) * 0.25 * 30 / 28)


def test_runaway_agent_stays_silent_for_other_kinds_and_old_episodes():
    assert detectors.runaway_agents(_anomalies("usage_surge", "2026-11-18"), SPEND, date(2026, 11, 20), 28) == []
    assert detectors.runaway_agents(_anomalies("runaway_agent", "2026-09-01"), SPEND, date(2026, 11, 20), 28) == []


def test_summaries_come_from_templates_and_an_llm_may_rephrase_keeping_the_numbers():
    (item,) = detectors.runaway_agents(_anomalies("runaway_agent", "2026-11-18"), SPEND, date(2026, 11, 20), 28)
    offline = template_summary(item)
    assert "$107.14" in offline and "400 calls" in offline
    kept = "Ivan's agent at initech looped 1 time(s) in 28 days (400 calls over the usual); pausing it saves $107.14."
    (phrased,) = phrase([item], GenericFakeChatModel(messages=iter([kept])))
    assert phrased.summary == kept
    (refused,) = phrase([item], GenericFakeChatModel(messages=iter(["Ivan's agent costs a lot; pause it."])))
    assert refused.summary == offline  # the rephrasing dropped the numbers: the template's sentence stays
