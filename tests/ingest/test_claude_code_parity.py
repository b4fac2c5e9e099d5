"""Parity with the reference totals of ccusage 20.0.24 on real Claude Code transcripts (tokens exact)."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.reports import usage_report
from aioa.warehouse.access import TenantScope
from tests.conftest import shared_data

TOKEN_KEYS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheCreationTokens": "cache_creation_tokens",
    "cacheReadTokens": "cache_read_tokens",
}


@pytest.fixture
def transcripts(settings):
    folder = shared_data("claude-code-transcripts")
    ingest(ClaudeCodeSource(), [folder], settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        yield folder, connection


def _by_model(entries: list[dict], name_key: str) -> dict:
    return {entry[name_key]: entry for entry in entries}


def test_daily_tokens_match_exactly_per_day_and_model(transcripts):
    folder, connection = transcripts
    expected = json.loads((folder / "expected-ccusage-20.0.24-daily-utc.json").read_text())["daily"]
    ours = {row["date"]: row for row in usage_report(connection, "daily", scope=TenantScope.all_orgs())}
    assert sorted(ours) == sorted(day["period"] for day in expected)
    for day in expected:
        row = ours[day["period"]]
        for theirs, mine in TOKEN_KEYS.items():
            assert row[mine] == day[theirs], (day["period"], mine)
        models = _by_model(row["models"], "model")
        assert sorted(models) == sorted(day["modelsUsed"])
        for breakdown in day["modelBreakdowns"]:
            for theirs, mine in TOKEN_KEYS.items():
                assert models[breakdown["modelName"]][mine] == breakdown[theirs]


def test_daily_cost_matches_model_by_model(transcripts):
    """Costs agree to a micro-dollar here, and this is why.

    ccusage prices from LiteLLM's map, we from genai-prices. The two agree on Opus 4.6 ($5 in, $25 out, $0.50
    cache read, $10 1-hour cache write), Sonnet 4.5 ($3/$15/$0.30/$6) and Haiku 4.5 ($1/$5/$0.10/$2). Every cache
    write in these transcripts is a 1-hour write (`ephemeral_1h_input_tokens`), which both price at 2x input, and
    no request crosses Sonnet's 200k long-context tier. On logs with 5-minute writes the two would differ
    where a price map lacks the 5m/1h split; we price each TTL at its own rate.
    """
    folder, connection = transcripts
    expected = json.loads((folder / "expected-ccusage-20.0.24-daily-utc.json").read_text())["daily"]
    ours = {row["date"]: row for row in usage_report(connection, "daily", scope=TenantScope.all_orgs())}
    for day in expected:
        models = _by_model(ours[day["period"]]["models"], "model")
        for breakdown in day["modelBreakdowns"]:
            assert models[breakdown["modelName"]]["cost_usd"] == pytest.approx(breakdown["cost"], abs=1e-6)
    five_minute = connection.execute("select sum(cache_write_5m_tokens) from raw.llm_calls").fetchone()[0]
    assert five_minute == 0  # the premise of the explanation above


def test_session_tokens_match_once_progress_only_subagent_calls_are_set_aside(transcripts):
    """ccusage names sessions after the file and drops usage that only appears nested in `progress` lines.

    Those are real subagent calls (here 5 Haiku calls of the `subagent` session's Plan agent, whose own file is
    not in the folder); we count them, in the session that made them. Every other session total is identical.
    """
    folder, connection = transcripts
    expected = json.loads((folder / "expected-ccusage-20.0.24-session-utc.json").read_text())["session"]
    rows = connection.execute(
        """
        with calls as (
            select
                -- ccusage's session key: the transcript file, or the parent session folder for subagent files
                case when source_file like '%/subagents/%'
                     then split_part(source_file, '/', -3)
                     else regexp_extract(source_file, '([^/]+)\\.jsonl$', 1) end as ccusage_session,
                *
            from raw.llm_calls
        )
        select ccusage_session, model,
               sum(input_tokens), sum(output_tokens),
               sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(cache_read_tokens)
        from calls group by all
        """
    ).fetchall()
    ours: dict[str, dict[str, tuple]] = {}
    for session, model, *tokens in rows:
        ours.setdefault(session, {})[model] = tuple(tokens)
    set_aside = ours["subagent"].pop("claude-haiku-4-5-20251001")
    assert set_aside == (24, 7, 14285, 95343)
    for session in expected:
        for breakdown in session["modelBreakdowns"]:
            assert ours[session["period"]][breakdown["modelName"]] == (
                breakdown["inputTokens"],
                breakdown["outputTokens"],
                breakdown["cacheCreationTokens"],
                breakdown["cacheReadTokens"],
            ), session["period"]
        assert sorted(ours[session["period"]]) == sorted(session["modelsUsed"])
    haiku_agent = connection.execute(
        "select distinct agent_id, session_id from raw.llm_calls where model = 'claude-haiku-4-5-20251001'"
    ).fetchall()
    assert haiku_agent == [("afb92ff", "491e126e-1e71-469c-ade2-fcc8af567c74")]


def test_costs_are_decimal_and_every_call_is_priced(transcripts):
    _, connection = transcripts
    statuses = dict(connection.execute("select price_status, count(*) from raw.llm_calls group by 1").fetchall())
    assert statuses == {"priced": 178}
    total = connection.execute("select sum(cost_usd) from raw.llm_calls").fetchone()[0]
    assert isinstance(total, Decimal)
    assert float(total) == pytest.approx(13.15458049999999, abs=1e-6)
