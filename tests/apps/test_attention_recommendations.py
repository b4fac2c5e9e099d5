"""The Overview's "Needs attention" shows the top recommendations: largest monthly saving first, only the filtered
orgs, each linking to the page with its evidence and that page's filters."""

from __future__ import annotations

import sys

from aioa.recommendations.model import Recommendation
from aioa.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "apps" / "dashboard"))

import attention  # noqa: E402  (the app's modules import each other by file name, as Streamlit runs them)


def _item(org: str, subject: str, saving: float) -> Recommendation:
    return Recommendation(
        kind="low_cache_hit",
        org_id=org,
        subject=subject,
        monthly_saving_usd=saving,
        evidence={},
        action="Cache the prompt prefix.",
        summary=f"{subject} misses the cache.",
        page="app_pages/projects.py",
        query={"orgs": org, "projects": subject},
    )


def test_the_top_recommendations_by_saving_with_their_evidence_page():
    found = [_item("acme", "billing", 12.0), _item("acme", "api", 140.0), _item("globex", "etl", 60.0)]
    found += [_item("acme", "web", 3.0), _item("acme", "ops", 1.5)]
    items = attention.recommendation_items(found)
    assert [item.title for item in items] == [
        "acme: raise a project's prompt-cache hit rate (api), about $140.00 a month",
        "globex: raise a project's prompt-cache hit rate (etl), about $60.00 a month",
        "acme: raise a project's prompt-cache hit rate (billing), about $12.00 a month",
    ]
    assert items[0].detail == "api misses the cache. Cache the prompt prefix."
    assert items[0].page == "app_pages/projects.py" and items[0].query == {"orgs": "acme", "projects": "api"}
    assert [item.title.split(":")[0] for item in attention.recommendation_items(found, orgs=("globex",))] == ["globex"]
    assert attention.recommendation_items([]) == []
