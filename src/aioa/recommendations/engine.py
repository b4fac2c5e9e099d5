"""`recommend()`: read the caller's data once, run every detector, phrase the summaries, largest saving first."""

from __future__ import annotations

import duckdb

from aioa.recommendations import detectors
from aioa.recommendations.data import read_inputs
from aioa.recommendations.model import Recommendation
from aioa.recommendations.summaries import phrase
from aioa.warehouse.access import TenantScope


def recommend(connection: duckdb.DuckDBPyConnection, scope: TenantScope, *, chat_model=None) -> list[Recommendation]:
    inputs = read_inputs(connection, scope)
    found = [
        *detectors.route_to_cheaper(inputs.handoffs, inputs.routing_days),
        *detectors.low_cache_hit(inputs.cache, inputs.prices, inputs.window_days),
        *detectors.expensive_model_short_tasks(inputs.short_calls, inputs.prices, inputs.window_days),
        *detectors.runaway_agents(inputs.anomalies, inputs.spend, inputs.last_day, inputs.window_days),
    ]
    found.sort(key=lambda item: (-item.monthly_saving_usd, item.kind, item.org_id, item.subject))
    return phrase(found, chat_model)


def configured_chat_model(settings):
    """The LLM that phrases summaries when one is configured (AIOA_LLM_PROVIDER), else None (templates)."""
    if settings.llm_provider == "none":
        return None
    from aioa.ask.llm import chat_model

    return chat_model(settings)
