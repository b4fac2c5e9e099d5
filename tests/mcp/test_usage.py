"""MCP tool performance from use, checked against numbers computed here from the facts (not the marts): calls,
errors, latency, turn cost and the context-growth estimate of result tokens per server and tool
(agg_mcp_tool_usage_daily), the recommendation evidence (mcp_tool_recommendations), the tenant scope on both, and
the servers discovery finds in transcripts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from aioa.analytics import Filters
from aioa.mcp.discovery import discover
from aioa.mcp.usage import servers_in_transcripts, tool_performance, tool_recommendations
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot


@pytest.fixture(scope="module")
def snapshot(built_home: Path):
    settings = Settings(home=built_home)
    connection, _ = open_snapshot(settings)
    yield settings, connection
    connection.close()


@pytest.fixture(scope="module")
def org(snapshot) -> str:
    _, connection = snapshot
    row = connection.execute(
        "select org_id from marts.fct_tool_calls where is_mcp group by org_id order by count(*) desc limit 1"
    ).fetchone()
    if row is None:
        pytest.skip("the sample has no MCP tool calls")
    return row[0]


def _frame(connection: duckdb.DuckDBPyConnection, sql: str, params=None) -> pd.DataFrame:
    return connection.cursor().execute(sql, params).df()


@pytest.fixture(scope="module")
def expected(snapshot, org) -> pd.DataFrame:
    """Per (server, tool) of the org, from fct_tool_calls and the de-duplicated LLM calls, in pandas."""
    _, connection = snapshot
    tools = _frame(
        connection,
        "select * from marts.fct_tool_calls where is_mcp and org_id = ?",
        [org],
    )
    calls = _frame(
        connection,
        """select session_id, coalesce(agent_id, 'main') as agent_key, message_id, ts_utc, cost_usd, output_tokens,
                  input_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens as context
           from intermediate.int_llm_calls__deduplicated where org_id = ? and message_id is not null""",
        [org],
    )
    calls = calls[calls.session_id.isin(set(tools.session_id))]
    turns = calls.groupby(["session_id", "agent_key", "message_id"], as_index=False).agg(
        ts=("ts_utc", "min"), cost=("cost_usd", "max"), output=("output_tokens", "max"), context=("context", "max")
    )
    turns = turns.sort_values(["session_id", "agent_key", "ts", "message_id"])
    turns["next_context"] = turns.groupby(["session_id", "agent_key"]).context.shift(-1)
    per_turn = tools.groupby(["session_id", "message_id"]).size().rename("tools_in_turn").reset_index()
    joined = tools.merge(turns, on=["session_id", "message_id"], how="left").merge(
        per_turn, on=["session_id", "message_id"], how="left"
    )
    grew = joined.next_context >= joined.context + joined.output
    joined["result_tokens"] = ((joined.next_context - joined.context - joined.output) / joined.tools_in_turn).where(
        grew
    )
    once = joined.drop_duplicates(["session_id", "message_id", "tool_name"])
    out = joined.groupby(["mcp_server", "mcp_tool"]).agg(
        calls=("tool_call_key", "size"),
        errors=("success", lambda s: int((s == False).sum())),  # noqa: E712 - NULL (no result) is not an error
        duration_ms_sum=("duration_ms", "sum"),
        result_tokens_sum=("result_tokens", "sum"),
        result_tokens_n=("result_tokens", "count"),
    )
    out["turn_cost_usd"] = once.groupby(["mcp_server", "mcp_tool"]).cost.sum()
    return out


def test_usage_per_server_and_tool_matches_the_facts(snapshot, org, expected):
    _, connection = snapshot
    mart = _frame(
        connection,
        """select mcp_server, mcp_tool, sum(calls) as calls, sum(errors) as errors,
                  sum(duration_ms_sum) as duration_ms_sum, sum(result_tokens_sum) as result_tokens_sum,
                  sum(calls_with_result_tokens) as result_tokens_n, sum(turn_cost_usd) as turn_cost_usd
           from marts.agg_mcp_tool_usage_daily where org_id = ? group by all""",
        [org],
    ).set_index(["mcp_server", "mcp_tool"])
    assert set(mart.index) == set(expected.index)
    mart = mart.loc[expected.index]
    assert mart.calls.tolist() == expected.calls.tolist()
    assert mart.errors.tolist() == expected.errors.tolist()
    assert mart.result_tokens_n.tolist() == expected.result_tokens_n.tolist()
    for column in ("duration_ms_sum", "result_tokens_sum", "turn_cost_usd"):
        assert mart[column].fillna(0).to_numpy() == pytest.approx(expected[column].fillna(0).to_numpy(), rel=1e-9)
    assert expected.errors.sum() > 0 and expected.result_tokens_n.sum() > 0  # the sample exercises both


def test_tool_performance_reads_only_the_scope(snapshot, org, expected):
    _, connection = snapshot
    mine = tool_performance(connection, Filters(), TenantScope.for_orgs(org)).set_index(["mcp_server", "mcp_tool"])
    assert mine.calls.sum() == expected.calls.sum()
    everyone = tool_performance(connection, Filters(), TenantScope.all_orgs())
    total = connection.execute("select count(*) from marts.fct_tool_calls where is_mcp").fetchone()[0]
    assert everyone.calls.sum() == total
    narrowed = TenantScope.for_orgs(org).narrowed_to_rows(user_ids=["nobody"])
    assert tool_performance(connection, Filters(), narrowed).empty
    by_model = tool_performance(connection, Filters(), TenantScope.for_orgs(org), ("model",))
    assert by_model.calls.sum() == expected.calls.sum() and "model" in by_model.columns


def test_recommendation_evidence_matches_the_sessions(snapshot, org):
    _, connection = snapshot
    sessions = _frame(connection, "select session_id, cost_usd, errors from marts.fct_sessions where org_id = ?", [org])
    handoffs = _frame(
        connection,
        "select session_id, task_type, success from marts.fct_handoffs where org_id = ? and session_id is not null",
        [org],
    )
    typed = handoffs.dropna(subset=["task_type"]).groupby(["session_id", "task_type"]).size().rename("n").reset_index()
    typed = typed.sort_values(["session_id", "n", "task_type"], ascending=[True, False, True]).drop_duplicates(
        "session_id"
    )
    outcome = handoffs.dropna(subset=["success"]).groupby("session_id").success.all().astype(int)
    sessions = sessions.merge(typed[["session_id", "task_type"]], on="session_id", how="left")
    sessions["task_type"] = sessions.task_type.fillna("unknown")
    sessions["succeeded"] = sessions.session_id.map(outcome).fillna((sessions.errors == 0).astype(int))
    used = _frame(
        connection,
        "select distinct session_id, mcp_server, mcp_tool from marts.fct_tool_calls where is_mcp and org_id = ?",
        [org],
    ).merge(sessions, on="session_id")
    mart = tool_recommendations(connection, TenantScope.for_orgs(org)).set_index(
        ["task_type", "mcp_server", "mcp_tool"]
    )
    assert set(mart.org_id) == {org}
    checked = 0
    for (task_type, server, tool), group in used.groupby(["task_type", "mcp_server", "mcp_tool"]):
        row = mart.loc[(task_type, server, tool)]
        same_task = sessions[sessions.task_type == task_type]
        without = same_task[~same_task.session_id.isin(group.session_id)]
        assert row.sessions_with_tool == len(group) and row.sessions_without_tool == len(without)
        assert row.success_rate_with_tool == pytest.approx(group.succeeded.mean())
        assert row.mean_cost_usd_with_tool == pytest.approx(group.cost_usd.mean())
        if without.cost_usd.notna().any():  # the mean is over sessions with a known cost
            assert row.mean_cost_usd_without_tool == pytest.approx(without.cost_usd.mean())
        recommended = (
            len(group) >= 5
            and len(without) >= 5
            and group.succeeded.mean() >= without.succeeded.mean()
            and group.cost_usd.mean() < without.cost_usd.mean()
        )
        assert bool(row.recommended) == recommended
        checked += 1
    assert checked == len(mart)


def test_discovery_lists_servers_seen_in_transcripts(snapshot, org, tmp_path: Path, monkeypatch):
    settings, connection = snapshot
    names = _frame(
        connection,
        "select tool_name, ts_utc from raw.tool_calls where org_id = ? and starts_with(tool_name, 'mcp__')",
        [org],
    )
    plain = names[~names.tool_name.str.startswith("mcp__plugin_")].copy()
    plain["server"] = plain.tool_name.map(lambda name: re.match(r"^mcp__(.+?)__", name).group(1))
    expected = plain.groupby("server").agg(first=("ts_utc", "min"), calls=("ts_utc", "size"))
    seen = {
        row["mcp_server"]: row
        for row in servers_in_transcripts(settings, TenantScope.for_orgs(org))
        if row["mcp_plugin"] is None
    }
    assert set(seen) == set(expected.index)
    for server, row in expected.iterrows():
        assert (seen[server]["calls"], seen[server]["first_seen"]) == (row.calls, row["first"].to_pydatetime())

    # a configured server of the same name is one entry carrying its transcript use
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    server = sorted(expected.index)[0]
    user = tmp_path / "user"
    user.mkdir()
    (user / ".claude.json").write_text(json.dumps({"mcpServers": {server: {"command": "x"}}}))
    found = discover(settings.model_copy(update={"mcp_user_home": user}), TenantScope.for_orgs(org)).servers
    entries = [entry for entry in found if entry.name_in_tools == server and entry.plugin is None]
    assert len(entries) == 1 and entries[0].scope == "user"
    assert entries[0].transcript_calls == expected.loc[server].calls
    assert {entry.name for entry in found if entry.scope == "transcripts"} >= set(expected.index) - {server}
