"""The sentence a person reads for each recommendation: written from a template offline; when an LLM is configured
(AIOA_LLM_PROVIDER) it may rephrase that sentence, and every number it must keep is checked to still be there."""

from __future__ import annotations

import re

from aioa import formatting
from aioa.recommendations.model import Recommendation


def template_summary(item: Recommendation) -> str:
    e, saving = item.evidence, formatting.money(item.monthly_saving_usd)
    if item.kind == "route_to_cheaper":
        return (
            f"{item.org_id}: {formatting.percent(e['share_to_dearer_models'], 0)} of {item.subject} tasks go to dearer "
            f"models; sending all of them to {e['cheap_model']} saves about {saving} a month, with success "
            f"{formatting.percent(e['success_rate_now'], 1)} → {formatting.percent(e['success_rate_if_cheap'], 1)} "
            f"(off-policy estimate over {e['handoffs_estimated_on']} logged handoffs)."
        )
    if item.kind == "low_cache_hit":
        return (
            f"{item.org_id}/{item.subject}: only {formatting.percent(e['cache_hit_rate'], 1)} of input tokens come from "
            f"the prompt cache; at {formatting.percent(e['target_cache_hit_rate'], 0)} it would save about {saving} a "
            "month."
        )
    if item.kind == "expensive_model_short_tasks":
        return (
            f"{item.org_id}/{item.subject}: {formatting.count(e['short_calls'])} short calls went to {e['model']} in "
            f"{e['window_days']} days; on {e['cheaper_model']} they save about {saving} a month."
        )
    if item.kind == "runaway_agent":
        return (
            f"{item.org_id}: {item.subject}'s agent ran away {e['episodes']} time(s) in {e['window_days']} days "
            f"({formatting.count(e['excess'])} calls over the usual); a pause rule saves about {saving} a month."
        )
    raise ValueError(f"unknown recommendation kind {item.kind!r}")


PHRASE_PROMPT = (
    "Rewrite this cost recommendation as one or two plain sentences for an engineering manager. Keep every number "
    "exactly as written; add no facts.\n\n{summary}"
)


def phrase(items: list[Recommendation], chat_model=None) -> list[Recommendation]:
    """Each item's summary from its template; rephrased by `chat_model` (a LangChain chat model) when given, unless
    the rephrasing dropped or changed a number (then the template's sentence stays)."""
    for item in items:
        item.summary = template_summary(item)
        if chat_model is None:
            continue
        reply = chat_model.invoke(PHRASE_PROMPT.format(summary=item.summary))
        text = (reply.content if isinstance(reply.content, str) else str(reply.content)).strip()
        if text and _numbers(item.summary) <= _numbers(text):
            item.summary = text
    return items


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:[.,]\d+)*%?", text))
