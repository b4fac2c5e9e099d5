"""RouteLLM's published MMLU results, quoted beside ours when the evaluated data is the same model pair
(Mixtral-8x7B-Instruct as the weak model, GPT-4 as the strong one): `aioa route evaluate` adds them to its table and
its JSON, docs/routing.md explains how the setups differ.
"""

from __future__ import annotations

ROUTELLM_MMLU = {
    "source": "Ong et al. 2024, RouteLLM: Learning to Route LLMs with Preference Data (arXiv:2406.18665), "
              "MMLU (5-shot) results, GPT-4 vs Mixtral-8x7B",
    "provenance": "quoted from two independent written summaries of the paper that agree on these figures; the "
                  "paper's own table could not be opened offline, so check it before citing these elsewhere",
    "routers": [
        {"router": "RouteLLM SW ranking, Arena + MMLU golden labels", "apgr": 0.603, "cpt_50": 0.354},
        {"router": "RouteLLM causal LLM (Llama 3 8B), Arena + MMLU golden labels", "apgr": 0.600, "cpt_50": 0.355},
        {"router": "RouteLLM routers, Arena preference data only", "apgr": 0.50, "cpt_50": None,
         "note": "about random: Arena data alone does not transfer to MMLU"},
    ],
    "best_cpt_80": 0.703,
    "setup": "theirs: trained on Chatbot Arena battles plus ~1,500 golden labels from MMLU's validation split, "
             "scored on the MMLU test questions; ours: trained on 70% of these very outcomes (with the subject as a "
             "feature) and scored on the other 30%, so ours is in distribution",
}


def reference_for(cheap_model: str, strong_model: str) -> dict | None:
    """The published results for this model pair, if any."""
    cheap, strong = cheap_model.lower(), strong_model.lower()
    if "mixtral-8x7b" in cheap and "gpt-4" in strong:
        return ROUTELLM_MMLU
    return None
