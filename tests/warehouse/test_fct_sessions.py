"""fct_sessions' grain, built by dbt from a few hand-written calls: one row per session of one user in one org.

The generator never writes one session id under two users, but real logs may (a transcript copied into another
home) and ids are names that two orgs may both use: each (org, team, user, session id) is its own row, with its own
calls and tools, so a scope narrowed to a user or a team reads none of another user's calls in that session.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from aioa.analytics import Filters, queries
from aioa.identity.permissions import scope_for
from aioa.identity.principal import Principal
from aioa.warehouse.dbt.runner import run_dbt

# (org, team, user, session, cost, tools, of which MCP)
CALLS = [
    ("acme", "acme-platform", "alice", "alice-session_1", 1.0, 1, 1),
    ("acme", "acme-platform", "alice", "alice-session_1", 2.0, 0, 0),
    ("acme", "acme-web", "amara", "alice-session_1", 4.0, 2, 0),  # the same id in another user's (team's) log
    ("globex", "globex-data", "gabe", "alice-session_1", 8.0, 0, 0),  # the same id in another org
    ("default", None, "zoe", "gap:default:zoe:scratch:1", 16.0, 1, 0),  # no team: the tools still join
]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> tuple[pd.DataFrame, duckdb.DuckDBPyConnection]:
    """marts.fct_llm_calls and marts.fct_tool_calls with the columns fct_sessions reads; dbt builds fct_sessions."""
    from aioa.settings import Settings

    home = tmp_path_factory.mktemp("sessions") / "home"
    home.mkdir()
    settings = Settings(home=home)
    calls = pd.DataFrame(
        [
            {
                "org_id": org,
                "team_id": team,
                "user_id": user,
                "project_id": "billing",
                "project_group": "billing",
                "session_id": session,
                "ts_utc": pd.Timestamp("2026-11-02 10:00") + pd.Timedelta(minutes=index),
                "is_subagent": False,
                "agent_id": None,
                "model": "claude-opus-4-6",
                "total_tokens": 100,
                "cost_usd": cost,
                "is_error": False,
                "loaded_at": pd.Timestamp("2026-11-03"),
            }
            for index, (org, team, user, session, cost, _, _) in enumerate(CALLS)
        ]
    )
    tools = pd.DataFrame(
        [
            {"org_id": org, "team_id": team, "user_id": user, "session_id": session, "is_mcp": number < mcp}
            for org, team, user, session, _, count, mcp in CALLS
            for number in range(count)
        ]
    )
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("create schema marts")
        connection.register("calls_frame", calls)
        connection.register("tools_frame", tools)
        connection.execute("create table marts.fct_llm_calls as select * from calls_frame")
        connection.execute("create table marts.fct_tool_calls as select * from tools_frame")
    result = run_dbt(settings, "run", "--select", "fct_sessions")
    assert result.ok, result.log_tail
    connection = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield connection.execute("select * from marts.fct_sessions").df(), connection
    connection.close()


def test_one_row_per_org_team_user_and_session_id(sessions):
    frame, _ = sessions
    got = {
        (row.org_id, row.team_id, row.user_id, row.session_id): (
            row.calls,
            row.cost_usd,
            row.tool_calls,
            row.mcp_tool_calls,
        )
        for row in frame.itertuples()
    }
    expected: dict[tuple, list] = {}
    for org, team, user, session, cost, tools, mcp in CALLS:
        totals = expected.setdefault((org, team, user, session), [0, 0.0, 0, 0])
        totals[0] += 1
        totals[1] += cost
        totals[2] += tools
        totals[3] += mcp
    assert got == {key: tuple(value) for key, value in expected.items()}
    assert frame["session_key"].is_unique
    assert frame["calls"].sum() == len(CALLS)


def test_a_user_reads_only_their_part_of_a_session_id_that_other_logs_carry_too(sessions):
    _, connection = sessions
    amara = Principal("amara", "user", "acme", "user", usage_user_ids=("amara",))
    platform = Principal("viewer", "user", "acme", "viewer", team_id="acme-platform")
    for principal, calls, cost in ((amara, 1, 4.0), (platform, 2, 3.0)):
        rows = queries.sessions_timeline(connection, Filters(), scope_for(principal))
        assert list(rows["item"]) == ["alice-session_1"]
        assert (rows["calls"].sum(), rows["cost_usd"].sum()) == (calls, pytest.approx(cost))
