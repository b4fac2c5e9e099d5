"""Golden questions on the offline path: each answer equals an independent query of the fact tables (not the
aggregates the parser reads, and not the parser's SQL), for the whole data and for one tenant; questions with a
part that cannot be applied (a name not in the data, "excluding", "median", a second metric, …) are not answered,
and say which part; filter-dropping traps (a model, a user, a project, a team, a period inside one question) are
applied, checked against SQL with the filter and against SQL without it."""

from __future__ import annotations

import math

import pytest

from aioa.ask import ask
from aioa.warehouse.access import TenantScope
from tests.ask.conftest import TODAY

CALLS_T = "marts.fct_llm_calls"
HANDOFFS_T = "marts.fct_handoffs"
SESSIONS_T = "marts.fct_sessions"
MCP_T = "marts.fct_tool_calls"

COST = "sum(cost_usd)"
TOKENS = "sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens)"
CALLS = "count(*)"
ERRORS = "count(*) filter (where status = 'error')"
ERROR_RATE = "avg(case when status = 'error' then 1.0 else 0.0 end)"
HIT = "sum(cache_read_tokens) / sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)"
LATENCY = "avg(latency_ms)"  # calls without a latency are left out by avg()
PER_CALL = "sum(cost_usd) / count(*)"
SUCCESS = "avg(case when success then 1.0 when not success then 0.0 end)"

OCT = "day between '2026-10-01' and '2026-10-31'"
SEP = "day between '2026-09-01' and '2026-09-30'"
LAST_MONTH = OCT
THIS_MONTH = "day between '2026-11-01' and '2026-11-20'"
LAST_WEEK = "day between '2026-11-09' and '2026-11-15'"
THIS_WEEK = "day between '2026-11-16' and '2026-11-20'"
LAST_30 = "day between '2026-10-22' and '2026-11-20'"
LAST_7 = "day between '2026-11-14' and '2026-11-20'"
YESTERDAY = "day = '2026-11-19'"
OPUS = "model like '%opus%'"
SONNET = "model like '%sonnet%'"
HAIKU = "model like '%haiku%'"

USAGE_METRICS = {  # question word -> independent expression over fct_llm_calls
    "spend": COST,
    "tokens": TOKENS,
    "calls": CALLS,
    "errors": ERRORS,
    "error rate": ERROR_RATE,
    "cache hit rate": HIT,
    "average latency": LATENCY,
    "cost per call": PER_CALL,
}
USAGE_DIMENSIONS = {
    "org": "org_id",
    "team": "team_id",
    "user": "user_id",
    "project": "project_id",
    "model": "model",
    "provider": "provider",
}


def _by(metric: str, expression: str, word: str, column: str) -> tuple[str, str, bool]:
    return (f"{metric} by {word}", f"select {column}, {expression} from {CALLS_T} group by 1", False)


# (question, independent SQL returning the expected rows in order, compare rows as an ordered list?)
GOLDEN = [
    # every usage metric, whole data and by every dimension
    *[(metric, f"select {expression} from {CALLS_T}", True) for metric, expression in USAGE_METRICS.items()],
    *[
        _by(metric, expression, word, column)
        for metric, expression in USAGE_METRICS.items()
        for word, column in USAGE_DIMENSIONS.items()
    ],
    ("total spend", f"select {COST} from {CALLS_T}", True),
    ("how many tokens", f"select {TOKENS} from {CALLS_T}", True),
    ("number of calls", f"select {CALLS} from {CALLS_T}", True),
    ("what is our overall failure rate", f"select {ERROR_RATE} from {CALLS_T}", True),
    ("mean latency", f"select {LATENCY} from {CALLS_T}", True),
    ("response time by model", f"select model, {LATENCY} from {CALLS_T} group by 1", False),
    # periods
    ("spend last month", f"select {COST} from {CALLS_T} where {LAST_MONTH}", True),
    ("spend this month", f"select {COST} from {CALLS_T} where {THIS_MONTH}", True),
    ("tokens last week", f"select {TOKENS} from {CALLS_T} where {LAST_WEEK}", True),
    ("calls this week", f"select {CALLS} from {CALLS_T} where {THIS_WEEK}", True),
    ("calls in the last 30 days", f"select {CALLS} from {CALLS_T} where {LAST_30}", True),
    ("error rate over the past 7 days", f"select {ERROR_RATE} from {CALLS_T} where {LAST_7}", True),
    ("tokens in the last 1 week", f"select {TOKENS} from {CALLS_T} where {LAST_7}", True),
    ("spend in October 2026", f"select {COST} from {CALLS_T} where {OCT}", True),
    ("spend in october", f"select {COST} from {CALLS_T} where {OCT}", True),
    ("cache hit rate in september 2026", f"select {HIT} from {CALLS_T} where {SEP}", True),
    ("spend this year", f"select {COST} from {CALLS_T} where day between '2026-01-01' and '2026-11-20'", True),
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
    ("spend yesterday", f"select {COST} from {CALLS_T} where {YESTERDAY}", True),
    ("spend today", f"select {COST} from {CALLS_T} where day = '2026-11-20'", True),
    (
        "spend by project last month",
        f"select project_id, {COST} c from {CALLS_T} where {LAST_MONTH} group by 1 order by c desc",
        False,
    ),
    ("calls per user this month", f"select user_id, {CALLS} from {CALLS_T} where {THIS_MONTH} group by 1", False),
    ("spend by team in October 2026", f"select team_id, {COST} from {CALLS_T} where {OCT} group by 1", False),
    ("error rate by model last week", f"select model, {ERROR_RATE} from {CALLS_T} where {LAST_WEEK} group by 1", False),
    (
        "average latency by provider this month",
        f"select provider, {LATENCY} from {CALLS_T} where {THIS_MONTH} group by 1",
        False,
    ),
    ("spend by project group", f"select project_group, {COST} from {CALLS_T} group by 1", False),
    ("spend per product", f"select project_group, {COST} from {CALLS_T} group by 1", False),
    ("spend by developer", f"select user_id, {COST} from {CALLS_T} group by 1", False),
    ("spend per organisation", f"select org_id, {COST} from {CALLS_T} group by 1", False),
    # two dimensions
    ("spend by team and model", f"select team_id, model, {COST} from {CALLS_T} group by 1, 2", False),
    (
        "tokens by org by provider last month",
        f"select org_id, provider, {TOKENS} from {CALLS_T} where {LAST_MONTH} group by 1, 2",
        False,
    ),
    # top-N, "which … most", "who"
    ("top 5 users by spend", f"select user_id, {COST} c from {CALLS_T} group by 1 order by c desc, 1 limit 5", True),
    (
        "top 3 projects by tokens last month",
        f"select project_id, {TOKENS} t from {CALLS_T} where {LAST_MONTH} group by 1 order by t desc, 1 limit 3",
        True,
    ),
    ("bottom 2 models by calls", f"select model, {CALLS} c from {CALLS_T} group by 1 order by c asc, 1 limit 2", True),
    (
        "which project had the highest spend last week",
        f"select project_id, {COST} c from {CALLS_T} where {LAST_WEEK} group by 1 order by c desc, 1 limit 1",
        True,
    ),
    ("top 1 org by tokens", f"select org_id, {TOKENS} t from {CALLS_T} group by 1 order by t desc, 1 limit 1", True),
    (
        "who spent the most last month",
        f"select user_id, {COST} c from {CALLS_T} where {LAST_MONTH} group by 1 order by c desc, 1 limit 1",
        True,
    ),
    (
        "which team has the lowest error rate",
        f"select team_id, {ERROR_RATE} e from {CALLS_T} group by 1 order by e asc nulls last, 1 limit 1",
        True,
    ),
    (
        "which model has the highest cost per call",
        f"select model, {PER_CALL} v from {CALLS_T} group by 1 order by v desc nulls last, 1 limit 1",
        True,
    ),
    (
        "top 3 users by cache hit rate this month",
        f"select user_id, {HIT} v from {CALLS_T} where {THIS_MONTH} group by 1 order by v desc nulls last, 1 limit 3",
        True,
    ),
    # filter-dropping traps: the named model/user/team/project/org is applied (see also test_traps_apply_the_filter)
    (
        "which user spent the most on opus this month",
        f"select user_id, {COST} c from {CALLS_T} where {OPUS} and {THIS_MONTH} group by 1 order by c desc, 1 limit 1",
        True,
    ),
    (
        "which project used the most tokens on sonnet last month",
        f"select project_id, {TOKENS} t from {CALLS_T} where {SONNET} and {LAST_MONTH} "
        "group by 1 order by t desc, 1 limit 1",
        True,
    ),
    (
        "top 3 users by spend on haiku",
        f"select user_id, {COST} c from {CALLS_T} where {HAIKU} group by 1 order by c desc, 1 limit 3",
        True,
    ),
    ("spend on opus", f"select {COST} from {CALLS_T} where {OPUS}", True),
    ("tokens on sonnet by user", f"select user_id, {TOKENS} from {CALLS_T} where {SONNET} group by 1", False),
    ("spend for checkout-api", f"select {COST} from {CALLS_T} where project_id = 'checkout-api'", True),
    ("spend for project checkout-api", f"select {COST} from {CALLS_T} where project_id = 'checkout-api'", True),
    ("tokens for alice in October 2026", f"select {TOKENS} from {CALLS_T} where user_id = 'alice' and {OCT}", True),
    ("spend for user alice by model", f"select model, {COST} from {CALLS_T} where user_id = 'alice' group by 1", False),
    ("alice's spend on opus", f"select {COST} from {CALLS_T} where user_id = 'alice' and {OPUS}", True),
    (
        "which model did alice spend the most on this month",
        f"select model, {COST} c from {CALLS_T} where user_id = 'alice' and {THIS_MONTH} "
        "group by 1 order by c desc, 1 limit 1",
        True,
    ),
    ("spend for team acme-web", f"select {COST} from {CALLS_T} where team_id = 'acme-web'", True),
    (
        "tokens by model for team acme-web last week",
        f"select model, {TOKENS} from {CALLS_T} where team_id = 'acme-web' and {LAST_WEEK} group by 1",
        False,
    ),
    (
        "which user on team acme-platform spent the most",
        f"select user_id, {COST} c from {CALLS_T} where team_id = 'acme-platform' group by 1 order by c desc, 1 limit 1",
        True,
    ),
    ("spend for org globex by model", f"select model, {COST} from {CALLS_T} where org_id = 'globex' group by 1", False),
    ("error rate for org initech", f"select {ERROR_RATE} from {CALLS_T} where org_id = 'initech'", True),
    (
        "calls on claude-opus-4-6 last month",
        f"select {CALLS} from {CALLS_T} where model = 'claude-opus-4-6' and {LAST_MONTH}",
        True,
    ),
    ("spend on anthropic", f"select {COST} from {CALLS_T} where provider = 'anthropic'", True),
    ("spend on sonnet 4.5", f"select {COST} from {CALLS_T} where model like '%sonnet-4-5%'", True),
    (
        "spend by org for acme and globex",  # "by org" settles that acme is the org, not the provider
        f"select org_id, {COST} from {CALLS_T} where org_id in ('acme', 'globex') group by 1",
        False,
    ),
    (
        "calls to deepseek by user",
        f"select user_id, {CALLS} from {CALLS_T} where provider = 'deepseek' group by 1",
        False,
    ),
    ("spend for project group checkout", f"select {COST} from {CALLS_T} where project_group = 'checkout'", True),
    (
        "spend on opus for alice in project checkout-api last month",
        f"select {COST} from {CALLS_T} where {OPUS} and user_id = 'alice' and project_id = 'checkout-api' "
        f"and {LAST_MONTH}",
        True,
    ),
    # trends
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
        "weekly spend for org acme",
        f"select cast(date_trunc('week', day) as date) w, {COST} from {CALLS_T} "
        "where org_id = 'acme' group by 1 order by 1",
        True,
    ),
    (
        "error rate trend last month",
        f"select day, {ERROR_RATE} from {CALLS_T} where {LAST_MONTH} group by 1 order by 1",
        True,
    ),
    (
        "spend per week on opus",
        f"select cast(date_trunc('week', day) as date) w, {COST} from {CALLS_T} where {OPUS} group by 1 order by 1",
        True,
    ),
    (
        "monthly spend by provider",
        f"select cast(date_trunc('month', day) as date) m, provider, {COST} from {CALLS_T} group by 1, 2 order by 1, 2",
        True,
    ),
    # period comparisons
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
    (
        "error rate this week vs last week",
        f"select case when {LAST_WEEK} then 'last week' else 'this week' end p, {ERROR_RATE} from {CALLS_T} "
        f"where {LAST_WEEK} or {THIS_WEEK} group by 1 order by min(day)",
        True,
    ),
    (
        "average latency by model this month vs last month",
        f"select case when {LAST_MONTH} then 'last month' else 'this month' end p, model, {LATENCY} "
        f"from {CALLS_T} where {LAST_MONTH} or {THIS_MONTH} group by 1, 2",
        False,
    ),
    (
        "cache hit rate for team acme-web this month versus last month",
        f"select case when {LAST_MONTH} then 'last month' else 'this month' end p, {HIT} from {CALLS_T} "
        f"where team_id = 'acme-web' and ({LAST_MONTH} or {THIS_MONTH}) group by 1 order by min(day)",
        True,
    ),
    # side-by-side comparisons of models, users, teams, projects
    (
        "average latency of opus vs sonnet",
        f"select case when {OPUS} then 'opus' else 'sonnet' end, {LATENCY} from {CALLS_T} "
        f"where {OPUS} or {SONNET} group by 1",
        False,
    ),
    (
        "error rate of opus versus haiku last month",
        f"select case when {OPUS} then 'opus' else 'haiku' end, {ERROR_RATE} from {CALLS_T} "
        f"where ({OPUS} or {HAIKU}) and {LAST_MONTH} group by 1",
        False,
    ),
    (
        "compare cost per call of sonnet and haiku",
        f"select case when {SONNET} then 'sonnet' else 'haiku' end, {PER_CALL} from {CALLS_T} "
        f"where {SONNET} or {HAIKU} group by 1",
        False,
    ),
    (
        "cache hit rate of opus vs sonnet vs haiku",
        f"select case when {OPUS} then 'opus' when {SONNET} then 'sonnet' else 'haiku' end, {HIT} from {CALLS_T} "
        f"where {OPUS} or {SONNET} or {HAIKU} group by 1",
        False,
    ),
    (
        "spend of alice vs greta",
        f"select user_id, {COST} from {CALLS_T} where user_id in ('alice', 'greta') group by 1",
        False,
    ),
    (
        "error rate of alice and greta this month",
        f"select user_id, {ERROR_RATE} from {CALLS_T} where user_id in ('alice', 'greta') and {THIS_MONTH} group by 1",
        False,
    ),
    (
        "average latency for team acme-web vs team acme-platform",
        f"select team_id, {LATENCY} from {CALLS_T} where team_id in ('acme-web', 'acme-platform') group by 1",
        False,
    ),
    (
        "tokens for checkout-api compared to project billing",
        f"select project_id, {TOKENS} from {CALLS_T} where project_id in ('checkout-api', 'billing') group by 1",
        False,
    ),
    (
        "spend of org acme vs org globex",
        f"select org_id, {COST} from {CALLS_T} where org_id in ('acme', 'globex') group by 1",
        False,
    ),
    (
        "spend of opus vs sonnet by team",
        f"select case when {OPUS} then 'opus' else 'sonnet' end, team_id, {COST} from {CALLS_T} "
        f"where {OPUS} or {SONNET} group by 1, 2",
        False,
    ),
    (
        "spend of opus vs sonnet this month vs last month",
        f"select case when {LAST_MONTH} then 'last month' else 'this month' end, "
        f"case when {OPUS} then 'opus' else 'sonnet' end, {COST} from {CALLS_T} "
        f"where ({OPUS} or {SONNET}) and ({LAST_MONTH} or {THIS_MONTH}) group by 1, 2",
        False,
    ),
    # handoffs, savings, MCP tools, sessions
    ("handoffs", f"select count(*) from {HANDOFFS_T}", True),
    ("handoffs by target model", f"select target_model, count(*) from {HANDOFFS_T} group by 1", False),
    (
        "handoffs by task type last month",
        f"select task_type, count(*) from {HANDOFFS_T} where {LAST_MONTH} group by 1",
        False,
    ),
    ("handoffs by team", f"select team_id, count(*) from {HANDOFFS_T} group by 1", False),
    ("handoffs to deepseek-chat", f"select count(*) from {HANDOFFS_T} where target_model = 'deepseek-chat'", True),
    ("handoff success rate", f"select {SUCCESS} from {HANDOFFS_T}", True),
    ("handoff success rate by task type", f"select task_type, {SUCCESS} from {HANDOFFS_T} group by 1", False),
    ("success rate by target model", f"select target_model, {SUCCESS} from {HANDOFFS_T} group by 1", False),
    (
        "handoff success rate for refactor tasks",
        f"select {SUCCESS} from {HANDOFFS_T} where task_type = 'refactor'",
        True,
    ),
    (
        "handoff success rate of code_generation vs refactor",
        f"select task_type, {SUCCESS} from {HANDOFFS_T} where task_type in ('code_generation', 'refactor') group by 1",
        False,
    ),
    ("savings last month", f"select sum(savings_usd) from {HANDOFFS_T} where {LAST_MONTH}", True),
    ("savings by target model", f"select target_model, sum(savings_usd) from {HANDOFFS_T} group by 1", False),
    (
        "savings by user this month",
        f"select user_id, sum(savings_usd) from {HANDOFFS_T} where {THIS_MONTH} group by 1",
        False,
    ),
    ("mcp calls", f"select count(*) from {MCP_T} where is_mcp", True),
    ("mcp calls by server", f"select mcp_server, count(*) from {MCP_T} where is_mcp group by 1", False),
    (
        "top 3 tools by mcp calls last month",
        f"select mcp_tool, count(*) c from {MCP_T} where is_mcp and {LAST_MONTH} group by 1 order by c desc, 1 limit 3",
        True,
    ),
    ("mcp calls for github", f"select count(*) from {MCP_T} where is_mcp and mcp_server = 'github'", True),
    ("mcp calls by user", f"select user_id, count(*) from {MCP_T} where is_mcp group by 1", False),
    (
        "mcp calls for alice by server",
        (f"select mcp_server, count(*) from {MCP_T} where is_mcp and user_id = 'alice' group by 1"),
        False,
    ),
    (
        "mcp calls by team last month",
        (f"select team_id, count(*) from {MCP_T} where is_mcp and {LAST_MONTH} group by 1"),
        False,
    ),
    (
        "mcp calls by org this week",
        f"select org_id, count(*) from {MCP_T} where is_mcp and {THIS_WEEK} group by 1",
        False,
    ),
    (
        "tool errors by mcp server last month",
        f"select mcp_server, count(*) filter (where not success) from {MCP_T} where is_mcp and {LAST_MONTH} group by 1",
        False,
    ),
    (
        "which mcp tool has the highest tool failure rate",
        f"select mcp_tool, avg(case when success then 0.0 when not success then 1.0 end) r from {MCP_T} "
        "where is_mcp group by 1 order by r desc, 1 limit 1",
        True,
    ),
    ("how many sessions last week", f"select count(*) from {SESSIONS_T} where {LAST_WEEK}", True),
    ("sessions by user", f"select user_id, count(*) from {SESSIONS_T} group by 1", False),
    ("sessions for project checkout-api", f"select count(*) from {SESSIONS_T} where project_id = 'checkout-api'", True),
    (
        "sessions this month vs last month",
        (
            f"select case when {LAST_MONTH} then 'last month' else 'this month' end p, count(*) from {SESSIONS_T} "
            f"where {LAST_MONTH} or {THIS_MONTH} group by 1 order by min(day)"
        ),
        True,
    ),
    (
        "weekly sessions",
        (f"select cast(date_trunc('week', day) as date) w, count(*) from {SESSIONS_T} group by 1 order by 1"),
        True,
    ),
]

# Questions that must not be answered: a part of them cannot be applied. (question, words the reason must hold)
NOT_ANSWERED = [
    ("spend excluding opus", "excluding"),
    ("spend without sonnet", "without"),
    ("spend on everything except haiku", "except"),
    ("spend for non-opus models", "non-opus"),
    ("median latency by model", "median"),
    ("p95 latency of opus vs sonnet", "p95"),
    ("spend for bob", "bob"),  # no such user: never the total without the filter
    ("which user spent the most on gemini this month", "gemini"),
    ("error rate of alice vs bob", "bob"),
    ("spend for acme", "several things"),  # org acme and provider acme
    ("spend for billing", "several things"),  # project billing and project group billing
    ("spend and tokens by model", "two metrics"),
    ("handoffs by provider", "cannot be broken down by provider"),
    ("sessions by model", "cannot be broken down by model"),
    ("mcp calls for opus", "cannot be filtered by model"),
    ("tool failure rate by model", "cannot be broken down by model"),  # a tool's failures are not a model's errors
    ("handoffs for anthropic", "cannot be filtered by provider"),
    ("spend by team by model by user", "at most 2"),
    ("compare spend of alice vs acme-web", "two of the same kind"),
    ("spend of opus vs sonnet for alice vs greta", "one kind of thing at a time"),
    ("users who spent more than 50 dollars", "more"),
    ("spend over $100 by user", "$100"),
    ("average daily spend", "average"),
    ("spend per active user", "active"),
    ("spend forecast for next month", "forecast"),
    ("cheapest model by tokens", "cheapest"),
    ("what is the meaning of life", "no metric"),
    ("tell me a joke about databases", "no metric"),
    ("how many users", "no metric"),
    ("top 5 by spend", "something to rank"),
    ("which is the most", "no metric"),
    ("top 5 users by spend per day", "ranks one period"),
    ("spend on 2026-02-31", "not a date"),
    ("spend in month 13", "no month 13"),
    ("spend between 2026-10-05 and 2026-10-01", "is after"),
    ("spend last 0 days", "not a period"),
    ("top 0 users by spend", "top 0"),
    ("spend in november 5", "“5”"),
    ("spend in october last year", "two periods"),
    ("spend this month vs last 30 days", "overlap"),  # a day in both would count in one only
    ("spend of opus vs claude", "overlap"),  # claude-opus is in both
    ("how much would we save", "no metric"),
    ("how much would we save routing more", "one model to move work to"),
    ("how much would we save routing more to deepseek last month", "last month"),
    ("how much would we save routing alice's work to haiku", "alice"),
    ("what if we routed everything to claude", "several models"),
    ("what if we moved 150% of opus to haiku", "150%"),
    ("what if the router threshold were 1.5", "between 0 and 1"),
]


def _rows(frame_rows):
    return [tuple(_round(value) for value in row) for row in frame_rows]


def _round(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "date") and callable(value.date):  # pandas Timestamp of a day → the day
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _sort_key(row):
    """Rows in a stable order: labels first, then numbers (rounded: sums in a different order differ in the last
    bits)."""
    return [
        (0, value) if isinstance(value, str) else (1, "") if value is None else (2, f"{value:.6g}") for value in row
    ]


def _same(got: list[tuple], expected: list[tuple]) -> bool:
    """Equal rows, numbers within 1e-9 relative (sums in a different order differ in the last bits)."""
    if len(got) != len(expected):
        return False
    for left, right in zip(got, expected, strict=True):
        if len(left) != len(right):
            return False
        for a, b in zip(left, right, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif a != b:
                return False
    return True


def _ask(question, snapshot, settings, scope=None):
    return ask(question, scope or TenantScope.all_orgs(), connection=snapshot, settings=settings, today=TODAY)


@pytest.mark.parametrize(("question", "expected_sql", "ordered"), GOLDEN, ids=[item[0] for item in GOLDEN])
def test_golden_question(question, expected_sql, ordered, snapshot, ask_settings):
    result = _ask(question, snapshot, ask_settings)
    assert result.answered, result.reason
    got = _rows(result.rows.itertuples(index=False))
    expected = _rows(snapshot.execute(expected_sql).fetchall())
    if not ordered:
        got, expected = sorted(got, key=_sort_key), sorted(expected, key=_sort_key)
    assert _same(got, expected), (got[:5], expected[:5])
    assert result.sql and result.answer and result.understood in result.answer
    assert "$" not in result.sql or result.parameters  # every $name in the SQL has its value beside it
    for name in result.parameters:
        assert f"${name}" in result.sql


@pytest.mark.parametrize(("question", "reason"), NOT_ANSWERED, ids=[item[0] for item in NOT_ANSWERED])
def test_a_part_that_cannot_be_applied_stops_the_answer(question, reason, snapshot, ask_settings):
    result = _ask(question, snapshot, ask_settings)
    assert not result.answered and result.rows.empty and not result.answer
    assert reason.lower() in result.reason.lower(), result.reason
    assert result.reason.startswith("Not answered") and "Traceback" not in result.reason


def test_the_golden_set_is_large_enough():
    assert len(GOLDEN) + len(NOT_ANSWERED) >= 150
    assert len(NOT_ANSWERED) >= 30


TRAPS = [  # (question, the name it uses, SQL of that filter, SQL of the rest of the question, metric expression)
    ("which user spent the most on opus this month", "opus", OPUS, THIS_MONTH, COST),
    ("which user spent the most on sonnet last month", "sonnet", SONNET, LAST_MONTH, COST),
    ("which project used the most tokens for alice", "alice", "user_id = 'alice'", "true", TOKENS),
    ("which model did team acme-web spend the most on", "acme-web", "team_id = 'acme-web'", "true", COST),
    ("which user spent the most in project checkout-api", "checkout-api", "project_id = 'checkout-api'", "true", COST),
    ("which team spent the most on haiku", "haiku", HAIKU, "true", COST),
    ("which user made the most calls in october 2026", "2026-10-01", OCT, "true", CALLS),
]


@pytest.mark.parametrize(("question", "named", "condition", "rest", "expression"), TRAPS, ids=[t[0] for t in TRAPS])
def test_traps_apply_the_filter(question, named, condition, rest, expression, snapshot, ask_settings):
    """The answer's number is the filtered one (not the total without the filter), and the answer names the filter."""
    result = _ask(question, snapshot, ask_settings)
    assert result.answered, result.reason
    column, metric = result.rows.columns[0], result.rows.columns[-1]
    winner = result.rows.iloc[0][column]
    sql = f"select {expression} from {CALLS_T} where {column} = ? and {rest}"
    filtered = snapshot.execute(sql + f" and {condition}", [winner]).fetchone()[0]
    unfiltered = snapshot.execute(sql, [winner]).fetchone()[0]
    assert result.rows[metric].iloc[0] == pytest.approx(filtered)
    assert filtered != pytest.approx(unfiltered)  # the trap is real: dropping the filter changes the answer
    best = snapshot.execute(
        f"select max(v) from (select {expression} as v from {CALLS_T} where {condition} and {rest} group by {column})"
    ).fetchone()[0]
    assert filtered == pytest.approx(best)
    assert named in result.answer


def test_an_answer_states_its_window_filters_and_parameters(snapshot, ask_settings):
    result = _ask("which user spent the most on opus this month", snapshot, ask_settings)
    assert "2026-11-01 to 2026-11-20" in result.answer and "this month" in result.answer
    assert "opus" in result.answer and "claude-opus" in result.answer and "by user" in result.answer
    words = result.parameter_words()
    assert words["start_day"] == "2026-11-01" and words["end_day"] == "2026-11-20"
    assert any(value.startswith("claude-opus") for value in words.values())
    assert result.to_dict()["parameters"] == words
    whole = _ask("total spend", snapshot, ask_settings)
    first, last = snapshot.execute("select min(day), max(day) from marts.agg_usage_daily").fetchone()
    assert f"all data ({first} to {last})" in whole.answer


def test_a_tenant_sees_only_its_own_rows(snapshot, ask_settings):
    acme = TenantScope.for_orgs("acme")
    result = _ask("spend by org", snapshot, ask_settings, acme)
    expected = snapshot.execute(f"select {COST} from {CALLS_T} where org_id = 'acme'").fetchone()[0]
    assert result.rows["org_id"].tolist() == ["acme"]
    assert result.rows["spend"].iloc[0] == pytest.approx(expected)
    # globex is not a name this tenant can see: not answered (never acme's total under globex's name), and the
    # reason is the one any unknown name gets (it does not tell that globex exists)
    other = _ask("spend for org globex", snapshot, ask_settings, acme)
    unknown = _ask("spend for org nosuchorg", snapshot, ask_settings, acme)
    assert not other.answered and other.rows.empty
    assert other.reason.replace("globex", "X") == unknown.reason.replace("nosuchorg", "X")
    own = _ask("average latency of opus vs sonnet", snapshot, ask_settings, acme)
    expected = dict(
        snapshot.execute(
            f"select case when {OPUS} then 'opus' else 'sonnet' end, {LATENCY} from {CALLS_T} "
            f"where org_id = 'acme' and ({OPUS} or {SONNET}) group by 1"
        ).fetchall()
    )
    got = dict(zip(own.rows["model"], own.rows["avg_latency_ms"], strict=True))
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert (value is None and math.isnan(got[name])) or got[name] == pytest.approx(value)
