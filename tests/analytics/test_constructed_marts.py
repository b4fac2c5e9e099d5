"""The lifecycle rule and the workflow-pattern counts, on series and sessions written by hand: dbt builds
agg_project_lifecycle_weekly and fct_session_sequences from hand-made upstream tables, and the readers of
aioa.analytics.behaviour compute phases, support and lift that are checked against numbers worked out here."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from aioa.analytics import Filters
from aioa.analytics.behaviour import current_phases, phase_spans, project_phases, workflow_patterns
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.dbt.runner import run_dbt

MONDAY = date(2026, 1, 5)
# project `grow` of org acme: tokens per week (each week's tokens on its Monday), quiet for the last two weeks
GROW = [10, 20, 40, 80, 100, 100, 90, 100, 30, 10, 0, 0]
# the 3-week rolling means: 10, 15, 23.3, 46.7, 73.3, 93.3, 96.7, 96.7, 73.3, 46.7, 13.3, 3.3; peak 96.7, half 48.3
GROW_PHASES = ["ramp-up"] * 4 + ["steady"] * 5 + ["wind-down"] * 3


def _usage_rows() -> list[dict]:
    rows = [
        {"org_id": "acme", "project_id": "grow", "day": MONDAY + timedelta(weeks=week), "tokens": tokens}
        for week, tokens in enumerate(GROW)
        if tokens
    ]
    # project `keep` runs every day to the last Sunday: the org's data covers all 12 weeks
    rows += [
        {"org_id": "acme", "project_id": "keep", "day": MONDAY + timedelta(days=day), "tokens": 5}
        for day in range(12 * 7)
    ]
    # org solo: 100 tokens a day for three weeks and a Monday-to-Wednesday (a partial last week)
    rows += [
        {"org_id": "solo", "project_id": "even", "day": MONDAY + timedelta(days=day), "tokens": 100}
        for day in range(3 * 7 + 3)
    ]
    return [{**row, "calls": 1, "total_tokens": row.pop("tokens"), "cost_usd": 0.01} for row in rows]


# Sessions: (session, team, errors, cost, steps) with steps as (thread, step, success); all of acme, user u-<team>
SESSIONS = [
    (
        "s1",
        "t1",
        0,
        1.0,
        [("", "Grep", True), ("", "Read", True), ("", "Read", True), ("", "Edit", True), ("", "Bash", False)],
    ),
    ("s2", "t1", 1, 5.0, [("", "Grep", True), ("", "Read", True), ("", "Edit", True)]),
    ("s3", "t1", 0, 2.0, [("", "Read", True), ("", "Edit", True), ("a1", "Grep", True), ("a1", "Read", True)]),
    ("s4", "t1", 0, 0.5, [("", "Bash", True)]),
    ("s5", "t2", 0, 9.0, [("", "Grep", True), ("", "Read", True)]),
]
# One orchestrating session's handoffs: (task type, success)
HANDOFFS = [("debugging", True), ("debugging", True), ("test_writing", False), ("refactor", True)]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    home = tmp_path_factory.mktemp("constructed") / "home"
    home.mkdir()
    settings = Settings(home=home)
    start = pd.Timestamp("2026-01-05 09:00")
    tools, sessions = [], []
    for session, team, errors, cost, steps in SESSIONS:
        sessions.append(
            {
                "session_key": f"key-{session}",
                "session_id": session,
                "org_id": "acme",
                "team_id": team,
                "user_id": f"u-{team}",
                "project_id": "grow",
                "day": MONDAY,
                "errors": errors,
                "cost_usd": cost,
            }
        )
        for index, (thread, step, success) in enumerate(steps):
            tools.append(
                {
                    "tool_call_key": f"{session}-{index}",
                    "org_id": "acme",
                    "team_id": team,
                    "user_id": f"u-{team}",
                    "session_id": session,
                    "agent_id": thread or None,
                    "ts_utc": start + pd.Timedelta(minutes=index),
                    "tool_name": step,
                    "success": success,
                }
            )
    handoffs = [
        {
            "handoff_id": f"h{index}",
            "org_id": "acme",
            "team_id": "t1",
            "user_id": "u-t1",
            "project_id": "grow",
            "session_id": "orchestrator-1",
            "ts_utc": start + pd.Timedelta(minutes=index),
            "day": MONDAY,
            "task_type": task,
            "success": success,
            "cost_usd": 0.25,
        }
        for index, (task, success) in enumerate(HANDOFFS)
    ]
    spine = pd.DataFrame({"date_day": pd.date_range("2025-12-01", "2026-05-01").date})
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("create schema marts")
        for name, frame in (
            ("agg_usage_daily", pd.DataFrame(_usage_rows())),
            ("time_spine_daily", spine),
            ("fct_tool_calls", pd.DataFrame(tools)),
            ("fct_sessions", pd.DataFrame(sessions)),
            ("fct_handoffs", pd.DataFrame(handoffs)),
        ):
            connection.register("frame", frame)
            connection.execute(f"create table marts.{name} as select * from frame")
            connection.unregister("frame")
    result = run_dbt(settings, "run", "--select", "agg_project_lifecycle_weekly", "fct_session_sequences")
    assert result.ok, result.log_tail
    connection = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield connection
    connection.close()


ADMIN = TenantScope.for_orgs("acme", "solo")


def test_lifecycle_phases_follow_the_rolling_usage_against_its_peak(warehouse):
    phases = project_phases(warehouse, Filters(), ADMIN)
    grow = phases[phases["project_id"] == "grow"].reset_index(drop=True)
    assert list(grow["phase"]) == GROW_PHASES
    assert list(grow["life_week"]) == list(range(12))
    assert list(grow["total_tokens"]) == GROW  # quiet weeks are rows with zero usage
    assert grow["rolling_tokens"].iloc[3] == pytest.approx((20 + 40 + 80) / 3)
    assert grow["share_of_peak"].max() == pytest.approx(1.0)
    keep = phases[phases["project_id"] == "keep"]
    assert set(keep["phase"]) == {"steady"}  # a flat curve is steady from its first week
    now = current_phases(phases).set_index("project_id")
    assert now.loc["grow", "phase"] == "wind-down"
    assert now.loc["grow", "phase_since"] == pd.Timestamp(MONDAY + timedelta(weeks=9))
    assert now.loc["grow", "peak_week"] == pd.Timestamp(MONDAY + timedelta(weeks=6))
    assert now.loc["grow", "life_weeks"] == 12


def test_a_partial_last_week_is_scaled_to_seven_days(warehouse):
    even = project_phases(warehouse, Filters(), ADMIN).query("project_id == 'even'")
    assert list(even["days_covered"]) == [7, 7, 7, 3]
    assert list(even["total_tokens"]) == [700, 700, 700, 300]
    assert even["rolling_tokens"].tolist() == pytest.approx([700] * 4)  # not a fall: the week has 3 days of data
    assert set(even["phase"]) == {"steady"}


def test_lifecycles_are_org_level_a_team_scope_reads_none(warehouse):
    team = TenantScope.for_orgs("acme").narrowed_to_rows(team_ids=("t1",))
    assert project_phases(warehouse, Filters(), team).empty
    assert set(project_phases(warehouse, Filters(), TenantScope.for_orgs("solo"))["org_id"]) == {"solo"}


def _patterns(warehouse, scope, **options) -> pd.DataFrame:
    return workflow_patterns(warehouse, Filters(), scope, min_sessions=1, **options).set_index("pattern")


def test_pattern_support_counts_sessions_and_collapses_repeats(warehouse):
    team = TenantScope.for_orgs("acme").narrowed_to_rows(team_ids=("t1",))
    patterns = _patterns(warehouse, team, lengths=(1, 3))
    assert set(patterns["population_sessions"]) == {4}  # s1-s4: s5 is another team's
    # Grep → Read in s1, s2 and s3 (s3's in its subagent thread); Read, Read counts once in s1
    assert patterns.loc["Grep → Read", "sessions"] == 3
    assert patterns.loc["Grep → Read", "support"] == pytest.approx(3 / 4)
    assert patterns.loc["Read → Edit", "sessions"] == 3
    assert "Read → Read" not in patterns.index
    assert "Edit → Grep" not in patterns.index  # threads are sequences of their own
    assert patterns.loc["Grep → Read → Edit", "sessions"] == 2
    assert patterns.loc["Bash", "sessions"] == 2
    # the next step after Read → Edit in s1 (Bash) failed; in s2 and s3 nothing follows
    assert patterns.loc["Read → Edit", "occurrences"] == 3
    assert patterns.loc["Read → Edit", "failure_after_share"] == pytest.approx(1 / 3)


def test_pattern_lift_compares_with_all_sessions(warehouse):
    team = TenantScope.for_orgs("acme").narrowed_to_rows(team_ids=("t1",))
    patterns = _patterns(warehouse, team)
    # base: 1 of 4 sessions had an error (s2); expensive = cost at or above the 90th percentile (4.1): s2 only
    assert patterns.loc["Grep → Read", "error_session_share"] == pytest.approx(1 / 3)
    assert patterns.loc["Grep → Read", "error_lift"] == pytest.approx((1 / 3) / (1 / 4))
    assert patterns.loc["Grep → Read", "expensive_lift"] == pytest.approx((1 / 3) / (1 / 4))
    assert patterns.loc["Edit → Bash", "error_lift"] == 0
    everyone = _patterns(warehouse, ADMIN)
    assert everyone.loc["Grep → Read", "sessions"] == 4 and set(everyone["population_sessions"]) == {5}
    frequent = workflow_patterns(warehouse, Filters(), team, min_sessions=3)
    assert sorted(frequent["pattern"]) == ["Grep → Read", "Read → Edit"]


def test_task_sequences_come_from_an_orchestrators_handoffs(warehouse):
    tasks = _patterns(warehouse, ADMIN, kind="task", lengths=(1, 3))
    assert sorted(tasks.index) == [
        "debugging",
        "debugging → test_writing",
        "debugging → test_writing → refactor",
        "refactor",
        "test_writing",
        "test_writing → refactor",
    ]
    assert set(tasks["population_sessions"]) == {1}
    assert tasks.loc["debugging", "failure_after_share"] == 1.0  # test_writing, next, did not succeed
    assert tasks.loc["debugging → test_writing", "failure_after_share"] == 0.0
    assert set(tasks["error_session_share"]) == {1.0}  # the session had a failed handoff
    with pytest.raises(ValueError, match="unknown sequence kind"):
        workflow_patterns(warehouse, Filters(), ADMIN, kind="commit")


def test_phase_spans_lay_out_each_projects_life(warehouse):
    spans = phase_spans(project_phases(warehouse, Filters(), ADMIN)).query("project_id == 'grow'")
    assert list(spans["phase"]) == ["ramp-up", "steady", "wind-down"]
    assert list(spans["weeks"]) == [4, 5, 3]
    assert list(spans["start"]) == [pd.Timestamp(MONDAY + timedelta(weeks=week)) for week in (0, 4, 9)]
    assert spans["finish"].iloc[-1] == pd.Timestamp(MONDAY + timedelta(weeks=12))
