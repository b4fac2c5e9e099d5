"""Golden questions on the offline path: each answer equals an independent query of the fact tables
(not the aggregate the parser reads), for the whole data and for one tenant."""

from __future__ import annotations

import math

import pytest

from aioa.ask import ask
from aioa.warehouse.access import TenantScope
from tests.ask.conftest import TODAY

COST = "sum(cost_usd)"
TOKENS = "sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens)"
CALLS = "count(*)"
ERROR_RATE = "avg(case when status = 'error' then 1.0 else 0.0 end)"
HIT = "sum(cache_read_tokens) / sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)"
CALLS_T = "marts.fct_llm_calls"
OCT = "day between '2026-10-01' and '2026-10-31'"
LAST_MONTH = OCT
THIS_MONTH = "day between '2026-11-01' and '2026-11-20'"
LAST_WEEK = "day between '2026-11-09' and '2026-11-15'"
LAST_30 = "day between '2026-10-22' and '2026-11-20'"

# (question, independent SQL returning the expected rows in order, compare rows as an ordered list?)
GOLDEN = [
    ("total spend", f"select {COST} from {CALLS_T}", True),
    ("how many tokens", f"select {TOKENS} from {CALLS_T}", True),
    ("number of calls", f"select {CALLS} from {CALLS_T}", True),
    ("error rate", f"select {ERROR_RATE} from {CALLS_T}", True),
    ("cache hit rate", f"select {HIT} from {CALLS_T}", True),
    ("spend last month", f"select {COST} from {CALLS_T} where {LAST_MONTH}", True),
    ("spend this month", f"select {COST} from {CALLS_T} where {THIS_MONTH}", True),
    ("tokens last week", f"select {TOKENS} from {CALLS_T} where {LAST_WEEK}", True),
    ("calls in the last 30 days", f"select {CALLS} from {CALLS_T} where {LAST_30}", True),
    ("spend in October 2026", f"select {COST} from {CALLS_T} where {OCT}", True),
    (
        "spend between 2026-09-01 and 2026-09-15",
        f"select {COST} from {CALLS_T} where day between '2026-09-01' and '2026-09-15'",
        True,
    ),
    (
        "tokens since 2026-11-10",
        f"select {TOKENS} from {CALLS_T} where day between '2026-11-10' and '2026-11-20'",
        True,
    ),
    ("spend on 2026-11-18", f"select {COST} from {CALLS_T} where day = '2026-11-18'", True),
    ("spend yesterday", f"select {COST} from {CALLS_T} where day = '2026-11-19'", True),
    ("spend by org", f"select org_id, {COST} c from {CALLS_T} group by 1 order by c desc", False),
    (
        "spend by project last month",
        f"select project_id, {COST} c from {CALLS_T} where {LAST_MONTH} "
        "and project_id is not null group by 1 order by c desc",
        False,
    ),
    ("tokens by model", f"select model, {TOKENS} t from {CALLS_T} group by 1", False),
    ("calls per user this month", f"select user_id, {CALLS} from {CALLS_T} where {THIS_MONTH} group by 1", False),
    ("error rate by model", f"select model, {ERROR_RATE} from {CALLS_T} group by 1", False),
    ("cache hit rate by org", f"select org_id, {HIT} from {CALLS_T} group by 1", False),
    ("spend by team in October 2026", f"select team_id, {COST} from {CALLS_T} where {OCT} group by 1", False),
    (
        "spend by project group",
        f"select project_group, {COST} from {CALLS_T} where project_group is not null group by 1",
        False,
    ),
    ("spend by provider", f"select provider, {COST} from {CALLS_T} group by 1", False),
    ("top 5 users by spend", f"select user_id, {COST} c from {CALLS_T} group by 1 order by c desc limit 5", True),
    (
        "top 3 projects by tokens last month",
        f"select project_id, {TOKENS} t from {CALLS_T} where {LAST_MONTH} "
        "and project_id is not null group by 1 order by t desc limit 3",
        True,
    ),
    ("bottom 2 models by calls", f"select model, {CALLS} c from {CALLS_T} group by 1 order by c asc limit 2", True),
    (
        "which project had the highest spend last week",
        f"select project_id, {COST} c from {CALLS_T} where {LAST_WEEK} group by 1 order by c desc limit 1",
        True,
    ),
    ("top 1 org by tokens", f"select org_id, {TOKENS} t from {CALLS_T} group by 1 order by t desc limit 1", True),
    ("spend for checkout-api", f"select {COST} from {CALLS_T} where project_id = 'checkout-api'", True),
    ("tokens for alice in October 2026", f"select {TOKENS} from {CALLS_T} where user_id = 'alice' and {OCT}", True),
    ("spend for org globex by model", f"select model, {COST} from {CALLS_T} where org_id = 'globex' group by 1", False),
    (
        "calls on claude-opus-4-6 last month",
        f"select {CALLS} from {CALLS_T} where model = 'claude-opus-4-6' and {LAST_MONTH}",
        True,
    ),
    (
        "daily spend trend for checkout-api over the last 30 days",
        f"select day, {COST} from {CALLS_T} where project_id = 'checkout-api' and {LAST_30} group by 1 order by 1",
        True,
    ),
    (
        "monthly tokens",
        f"select cast(date_trunc('month', day) as date) m, {TOKENS} from {CALLS_T} group by 1 order by 1",
        True,
    ),
    (
        "weekly spend for acme",
        f"select cast(date_trunc('week', day) as date) w, {COST} from {CALLS_T} "
        "where org_id = 'acme' group by 1 order by 1",
        True,
    ),
    (
        "spend this month vs last month",
        f"select case when {LAST_MONTH} then 'last month' else 'this month' end p, {COST} from {CALLS_T} "
        f"where {LAST_MONTH} or {THIS_MONTH} group by 1 order by min(day)",
        True,
    ),
    (
        "compare tokens in September 2026 and October 2026",
        f"select case when day < '2026-10-01' then 'september 2026' else 'october 2026' end p, {TOKENS} "
        f"from {CALLS_T} where day between '2026-09-01' and '2026-10-31' group by 1 order by min(day)",
        True,
    ),
    ("handoffs by target model", "select target_model, count(*) from marts.fct_handoffs group by 1", False),
    (
        "handoff success rate by task type",
        "select task_type, avg(case when success then 1.0 when not success "
        "then 0.0 end) from marts.fct_handoffs group by 1",
        False,
    ),
    ("savings last month", f"select sum(savings_usd) from marts.fct_handoffs where {LAST_MONTH}", True),
    ("mcp calls by server", "select mcp_server, count(*) from marts.fct_tool_calls where is_mcp group by 1", False),
    ("how many sessions last week", f"select count(*) from marts.fct_sessions where {LAST_WEEK}", True),
]


def _rows(frame_rows):
    return [tuple(_round(value) for value in row) for row in frame_rows]


def _round(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        return round(float(value), 4)  # sums in a different order differ in the last bits
    if hasattr(value, "date") and callable(value.date):  # pandas Timestamp of a day → the day
        return value.date().isoformat()
    return str(value)


@pytest.mark.parametrize(("question", "expected_sql", "ordered"), GOLDEN, ids=[item[0] for item in GOLDEN])
def test_golden_question(question, expected_sql, ordered, snapshot, ask_settings):
    result = ask(question, TenantScope.all_orgs(), connection=snapshot, settings=ask_settings, today=TODAY)
    assert result.answered, result.reason
    got = _rows(result.rows.itertuples(index=False))
    expected = _rows(snapshot.execute(expected_sql).fetchall())
    if not ordered:
        got, expected = sorted(got, key=repr), sorted(expected, key=repr)
    assert got == expected
    assert result.sql and result.answer


def test_golden_set_is_large_enough():
    assert len(GOLDEN) >= 40


def test_a_tenant_sees_only_its_own_rows(snapshot, ask_settings):
    result = ask("spend by org", TenantScope.for_orgs("acme"), connection=snapshot, settings=ask_settings, today=TODAY)
    expected = snapshot.execute(f"select {COST} from {CALLS_T} where org_id = 'acme'").fetchone()[0]
    assert result.rows["org_id"].tolist() == ["acme"]
    assert result.rows["spend"].iloc[0] == pytest.approx(expected)
    other = ask(
        "spend for org globex", TenantScope.for_orgs("acme"), connection=snapshot, settings=ask_settings, today=TODAY
    )  # globex is not a value this tenant can see, so no filter matches it
    assert other.answered and other.rows["spend"].iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    "question", ["what is the meaning of life", "tell me a joke about databases", "top 5 by spend"]
)
def test_beyond_the_parser_says_so_plainly(question, snapshot, ask_settings):
    result = ask(question, TenantScope.all_orgs(), connection=snapshot, settings=ask_settings, today=TODAY)
    assert not result.answered and not result.refused
    assert "AIOA_LLM_PROVIDER" in result.reason
