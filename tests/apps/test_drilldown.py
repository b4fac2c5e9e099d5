"""Drill-down: a chart point's values in the URL open the calls behind it under the chart, a page at a time, with
the same count as the facts (within the page's filters and the reader's scope); the query itself narrows by day,
org, project and session and pages without gaps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from aioa.analytics import Filters
from aioa.analytics.drilldown import calls_behind, drill_filters
from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")
DEFAULT_WINDOW = "day > (select max(day) - 30 from marts.fct_llm_calls)"  # the app's default 30 days


@pytest.fixture(scope="module")
def snapshot(built_home):
    connection, _ = open_snapshot(Settings(home=built_home))
    with connection:
        yield connection


def _one(connection, sql: str, params=()):
    return connection.execute(sql, list(params)).fetchone()


def test_calls_behind_a_day_and_org_match_the_facts_and_page_without_gaps(snapshot):
    day, org, count = _one(
        snapshot,
        "select day, org_id, count(*) from marts.fct_llm_calls group by all order by count(*) desc limit 1",
    )
    drill = (("day", str(day)), ("org", org))
    first, total = calls_behind(snapshot, Filters(), TenantScope.all_orgs(), drill, page=0, page_size=7)
    assert total == count and len(first) == min(7, count)
    keys = []
    for page in range((total + 6) // 7):
        rows, _ = calls_behind(snapshot, Filters(), TenantScope.all_orgs(), drill, page=page, page_size=7)
        assert set(rows["org_id"]) == {org}
        keys += list(zip(rows["source_file"], rows["source_line"], strict=True))
    assert len(keys) == len(set(keys)) == count  # every call once, none skipped
    other = _one(snapshot, "select org_id from marts.fct_llm_calls where org_id <> ? limit 1", [org])[0]
    _, foreign = calls_behind(snapshot, Filters(), TenantScope.for_orgs(other), drill, page=0)
    assert foreign == 0  # another org's reader sees none of these calls


def test_a_day_outside_the_window_drills_to_nothing_and_a_missing_value_to_the_calls_without_it(snapshot):
    day = _one(snapshot, "select max(day) from marts.fct_llm_calls")[0]
    window = Filters(start=day - timedelta(days=3), end=day - timedelta(days=1))
    assert drill_filters(window, (("day", str(day)),)).start > drill_filters(window, (("day", str(day)),)).end
    _, outside = calls_behind(snapshot, window, TenantScope.all_orgs(), (("day", str(day)),))
    assert outside == 0
    without_team = _one(snapshot, "select count(*) from marts.fct_llm_calls where team_id is null")[0]
    assert calls_behind(snapshot, Filters(), TenantScope.all_orgs(), (("team", ""),))[1] == without_team


def test_a_linked_drill_down_opens_the_calls_under_the_costs_chart(built_home, monkeypatch, snapshot):
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    project, expected = _one(
        snapshot,
        f"select project_id, count(*) from marts.fct_llm_calls where {DEFAULT_WINDOW} and project_id is not null "
        "group by 1 order by 2 desc limit 1",
    )
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("app_pages/costs.py")
    app.query_params.update({"drill": "costs_project", "drill_project": project})
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    panel = next(item for item in app.markdown if item.value.startswith("**Calls behind"))
    assert panel.value == f"**Calls behind project {project}**: {expected:,} in this selection"
    calls = app.dataframe[0].value  # the panel's page of calls (the totals table follows the chart)
    assert set(calls["project_id"]) == {project} and len(calls) == min(50, expected)
    if expected > 50:
        app.button(key="costs_project__next_1").click().run()
        assert app.query_params["drill_page"] == "2"
        assert set(app.dataframe[0].value["project_id"]) == {project}
