"""The behaviour readers and their marts on the generated sample, each number against independent SQL over the
call and tool facts (fct_llm_calls, fct_tool_calls), for the whole sample and for a team's narrowed scope."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from aioa.analytics import Filters, behaviour
from aioa.analytics.kpi_formula import kpi_values, parse_formula
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot

EVERYONE = TenantScope.all_orgs()
WEB = TenantScope.for_orgs("acme").narrowed_to_rows(team_ids=("acme-web",))
SCOPES = {"everyone": (EVERYONE, "true"), "acme-web": (WEB, "org_id = 'acme' and team_id = 'acme-web'")}


@pytest.fixture(scope="module")
def connection(built_home):
    connection, _ = open_snapshot(Settings(home=built_home))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def window(connection) -> Filters:
    """The last 30 days of the sample (the app's default window)."""
    last = connection.execute("select max(day) from marts.fct_llm_calls").fetchone()[0]
    return Filters(start=date.fromordinal(last.toordinal() - 29), end=last)


def _sql(connection, sql: str, filters: Filters) -> pd.DataFrame:
    return connection.execute(sql, {"start": filters.start, "end": filters.end}).df()


@pytest.mark.parametrize("name", SCOPES)
def test_active_hours_count_calls_per_weekday_and_hour(connection, window, name):
    scope, condition = SCOPES[name]
    got = behaviour.active_hours(connection, window, scope)
    expected = _sql(
        connection,
        f"""select isodow(ts_utc) as weekday, hour(ts_utc) as hour_of_day, count(*) as calls
            from marts.fct_llm_calls where {condition} and day between $start and $end group by all""",
        window,
    )
    merged = got.merge(expected, on=["weekday", "hour_of_day"], how="outer", suffixes=("", "_expected"))
    assert len(merged) == len(expected) > 20
    assert (merged["calls"] == merged["calls_expected"]).all()
    user = behaviour.active_hours(connection, window, scope, ("user", "amara"))
    amara = connection.execute(
        f"select count(*) from marts.fct_llm_calls where {condition} and user_id = 'amara' and day between ? and ?",
        [window.start, window.end],
    ).fetchone()[0]
    assert user["calls"].sum() == amara > 0


@pytest.mark.parametrize("name", SCOPES)
def test_behaviour_per_user_matches_the_calls_grouped_into_sessions(connection, window, name):
    scope, condition = SCOPES[name]
    got = behaviour.behaviour_by(connection, window, scope, "user").set_index("user")
    expected = _sql(
        connection,
        f"""with sessions as (
                select user_id, session_id, min(ts_utc) as started, max(ts_utc) as ended, sum(cost_usd) as cost,
                       count(*) as calls
                from marts.fct_llm_calls where {condition}
                group by org_id, team_id, user_id, session_id
                having cast(min(ts_utc) as date) between $start and $end)
            select user_id, count(*) as sessions,
                   median(date_diff('second', started, ended) / 60.0) as median_minutes,
                   median(cost) as median_cost, sum(cost) / count(cost) as cost_per_session,
                   avg(calls) as calls_per_session
            from sessions group by user_id""",
        window,
    ).set_index("user_id")
    assert sorted(got.index) == sorted(expected.index)
    for user, row in expected.iterrows():
        assert got.loc[user, "sessions"] == row["sessions"]
        assert got.loc[user, "median_session_minutes"] == pytest.approx(row["median_minutes"])
        assert got.loc[user, "median_session_cost_usd"] == pytest.approx(row["median_cost"])
        assert got.loc[user, "cost_per_session_usd"] == pytest.approx(row["cost_per_session"])
        assert got.loc[user, "calls_per_session"] == pytest.approx(row["calls_per_session"])
    top_tools = _sql(
        connection,
        f"""select user_id, count(distinct tool_name) as tools, arg_max(tool_name, n) as top_tool,
                   max(n) as top_calls
            from (select user_id, tool_name, count(*) as n from marts.fct_tool_calls
                  where {condition} and day between $start and $end group by all) group by user_id""",
        window,
    ).set_index("user_id")
    for user, row in top_tools.iterrows():
        assert got.loc[user, "tools_used"] == row["tools"]
        tools = behaviour.tools_used(connection, window, scope, "user").query("user == @user")
        assert tools["tool_calls"].max() == row["top_calls"]  # ties may name another tool with the same count
        assert tools["share_of_tool_calls"].sum() == pytest.approx(1.0)


def test_models_used_shares_per_team(connection, window):
    got = behaviour.models_used(connection, window, EVERYONE, "team")
    expected = _sql(
        connection,
        """select team_id, model, count(*) as calls,
                  count(*) / sum(count(*)) over (partition by team_id) as share
           from marts.fct_llm_calls where day between $start and $end and team_id is not null group by team_id, model""",
        window,
    )
    merged = got.dropna(subset=["team"]).merge(expected, left_on=["team", "model"], right_on=["team_id", "model"])
    assert len(merged) == len(expected)
    assert (merged["calls_x"] == merged["calls_y"]).all()
    assert merged["share_of_calls"].tolist() == pytest.approx(merged["share"].tolist())


def test_the_tool_usage_mart_adds_up_to_the_tool_calls(connection):
    mart = connection.execute(
        "select tool_name, sum(tool_calls), sum(failures) from marts.agg_tool_usage_daily group by 1 order by 1"
    ).fetchall()
    facts = connection.execute(
        "select tool_name, count(*), count(*) filter (where success = false) from marts.fct_tool_calls "
        "group by 1 order by 1"
    ).fetchall()
    assert mart == facts and len(mart) > 5


def test_lifecycle_weeks_add_up_to_each_projects_usage(connection):
    weekly = connection.execute(
        """select org_id, project_id, sum(total_tokens), count(*), min(life_week), max(life_week) + 1
           from marts.agg_project_lifecycle_weekly group by all order by 1, 2"""
    ).fetchall()
    facts = connection.execute(
        """select f.org_id, f.project_id, sum(f.total_tokens),
                  date_diff('week', date_trunc('week', min(f.day)), date_trunc('week', max(o.last_day))) + 1
           from marts.fct_llm_calls f
           join (select org_id, max(day) as last_day from marts.fct_llm_calls group by 1) o on o.org_id = f.org_id
           where f.project_id is not null group by all order by 1, 2"""
    ).fetchall()
    assert [(org, project, tokens) for org, project, tokens, *_ in weekly] == [
        (org, project, tokens) for org, project, tokens, _ in facts
    ]
    # one row per week from the project's first week to its org's last, numbered from 0
    assert [(rows, first, count) for *_, rows, first, count in weekly] == [(weeks, 0, weeks) for *_, weeks in facts]


def test_tool_sequences_of_one_step_have_the_support_of_the_tool(connection, window):
    patterns = behaviour.workflow_patterns(connection, window, WEB, lengths=(1, 1), min_sessions=1).set_index("pattern")
    expected = _sql(
        connection,
        """with tool_sessions as (
               select distinct t.session_id, t.tool_name from marts.fct_tool_calls t
               join marts.fct_sessions s on s.org_id = t.org_id and s.session_id = t.session_id
                    and s.user_id = t.user_id
               where t.org_id = 'acme' and t.team_id = 'acme-web' and s.day between $start and $end)
           select tool_name, count(*) as sessions, count(*) / (select count(distinct session_id) from tool_sessions)
                  as support
           from tool_sessions group by tool_name""",
        window,
    ).set_index("tool_name")
    assert sorted(patterns.index) == sorted(expected.index)
    assert patterns["sessions"].to_dict() == expected["sessions"].to_dict()
    assert patterns["support"].tolist() == pytest.approx(expected.loc[patterns.index, "support"].tolist())


def test_a_kpi_over_two_marts_matches_independent_sql(connection, window):
    values = kpi_values(connection, parse_formula("spend / sessions"), window, WEB, by="user").set_index("user")
    expected = _sql(
        connection,
        """select user_id, sum(cost_usd) / (select count(*) from marts.fct_sessions s where s.user_id = c.user_id
                  and s.org_id = 'acme' and s.team_id = 'acme-web' and s.day between $start and $end) as value
           from marts.fct_llm_calls c where org_id = 'acme' and team_id = 'acme-web' and day between $start and $end
           group by user_id""",
        window,
    ).set_index("user_id")
    assert values["value"].to_dict() == pytest.approx(expected["value"].to_dict())
    total = kpi_values(connection, parse_formula("100 * error_calls / calls"), window, EVERYONE)
    errors = _sql(
        connection,
        "select 100.0 * count(*) filter (where is_error) / count(*) from marts.fct_llm_calls "
        "where day between $start and $end",
        window,
    ).iloc[0, 0]
    assert total["value"].iloc[0] == pytest.approx(errors)
