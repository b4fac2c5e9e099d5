"""Savings questions go to the what-if engine (ml/forecasting/whatif.py) over the caller's last 28 days: every
saving equals an independent SQL re-costing of the fact table, for all orgs and for one tenant; a language model,
when configured, is not asked to write SQL for a hypothetical."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from aioa.ask import ask
from aioa.warehouse.access import TenantScope
from tests.ask.conftest import TODAY

WINDOW = "day between '2026-10-24' and '2026-11-20'"  # the 28 days up to the sample's last day

# The saving of moving `share` of the source models' tokens to the target, re-costed at the org's own recent
# per-token cost of the target (else every org's), summed over the orgs in `orgs`.
SAVING = f"""
with recent as (select * from marts.fct_llm_calls where {WINDOW} and org_id in (select unnest($orgs))),
everyone as (
    select sum(cost_usd) / sum(total_tokens) as rate
    from marts.fct_llm_calls where {WINDOW} and model = $target
),
own as (
    select org_id, sum(cost_usd) / nullif(sum(total_tokens), 0) as rate from recent where model = $target group by 1
),
moved as (
    select org_id, sum(total_tokens) as tokens, sum(cost_usd) as cost
    from recent where model like $source group by 1
)
select sum($share * (moved.cost - moved.tokens * coalesce(case when own.rate > 0 then own.rate end, everyone.rate)))
from moved left join own using (org_id) cross join everyone
"""


def _orgs(snapshot) -> list[str]:
    return [row[0] for row in snapshot.execute("select distinct org_id from marts.fct_llm_calls").fetchall()]


def _saving(snapshot, source: str, target: str, share: float, orgs: list[str]) -> float:
    return snapshot.execute(SAVING, {"orgs": orgs, "target": target, "source": source, "share": share}).fetchone()[0]


def _ask(question, snapshot, settings, scope=None, **kwargs):
    return ask(question, scope or TenantScope.all_orgs(), connection=snapshot, settings=settings, today=TODAY, **kwargs)


def test_moving_half_of_a_family_equals_the_independent_re_costing(snapshot, ask_settings):
    result = _ask("what if we moved half of opus to haiku", snapshot, ask_settings)
    assert result.answered and result.path == "what-if", result.reason
    target = result.rows["to_model"].iloc[0]
    assert "haiku" in target and set(result.rows["share_moved"]) == {0.5}
    assert all("opus" in model for model in result.rows["from_model"])
    expected = _saving(snapshot, "%opus%", target, 0.5, _orgs(snapshot))
    assert result.rows["saving_usd"].sum() == pytest.approx(expected)
    assert expected > 0  # haiku is cheaper per token than opus in the sample
    assert "2026-10-24 to 2026-11-20" in result.answer and f"${expected:,.2f}" in result.answer
    assert "opus" in result.understood and "50%" in result.understood


def test_routing_more_to_a_model_shows_every_source_and_share(snapshot, ask_settings):
    result = _ask("how much would we save routing more to deepseek", snapshot, ask_settings)
    assert result.answered, result.reason
    assert set(result.rows["to_model"]) == {"deepseek-chat"}
    priced = {
        row[0]
        for row in snapshot.execute(
            f"select model from marts.fct_llm_calls where {WINDOW} group by 1 "
            "having sum(cost_usd) / nullif(sum(total_tokens), 0) > 0"
        ).fetchall()
    }
    assert set(result.rows["from_model"]) == priced - {"deepseek-chat"}
    assert set(result.rows["share_moved"]) == {0.25, 0.5, 1.0}
    for row in result.rows.itertuples():
        expected = _saving(snapshot, row.from_model, "deepseek-chat", row.share_moved, _orgs(snapshot))
        assert row.saving_usd == pytest.approx(expected), (row.from_model, row.share_moved)
    best = result.rows.sort_values("saving_usd").iloc[-1]
    assert best["from_model"] in result.answer and "not given" in result.understood


def test_a_tenant_re_costs_only_its_own_usage(snapshot, ask_settings):
    scope = TenantScope.for_orgs("acme")
    result = _ask("how much would we save moving 30% of sonnet to haiku", snapshot, ask_settings, scope)
    assert result.answered, result.reason
    last = snapshot.execute("select max(day) from marts.fct_llm_calls where org_id = 'acme'").fetchone()[0]
    assert last.isoformat() == "2026-11-20"  # the window above is acme's too
    own = snapshot.execute(
        SAVING.replace("from marts.fct_llm_calls where", "from marts.fct_llm_calls where org_id = 'acme' and"),
        {"orgs": ["acme"], "target": result.rows["to_model"].iloc[0], "source": "%sonnet%", "share": 0.3},
    ).fetchone()[0]
    assert result.rows["saving_usd"].sum() == pytest.approx(own)
    assert "haiku" in result.rows["to_model"].iloc[0]
    assert result.rows["recent_cost_usd"].iloc[0] == pytest.approx(
        snapshot.execute(
            f"select sum(cost_usd) from marts.fct_llm_calls where org_id = 'acme' and {WINDOW}"
        ).fetchone()[0]
    )

    uses_deepseek = snapshot.execute(
        "select count(*) > 0 from marts.fct_llm_calls where org_id = 'acme' and model like 'deepseek%'"
    ).fetchone()[0]
    deepseek = _ask("how much would we save routing more to deepseek", snapshot, ask_settings, scope)
    assert deepseek.answered == uses_deepseek  # another org's model is not a name this tenant can use


def test_a_configured_language_model_is_not_asked_a_hypothetical(snapshot, ask_settings):
    model = FakeListChatModel(responses=["```sql\nselect 1 as n\n```"])
    result = _ask("what if we moved half of opus to haiku", snapshot, ask_settings, chat_model=model)
    assert result.path == "what-if" and result.answered and model.i == 0
