"""The deep-analytics pages (Behaviour & patterns, Comparisons & KPIs) render for every role; their verdicts are the
readers' on the same window; a User saves a KPI for their team that their team sees with the right value, and a
Viewer of another team neither sees it nor may save one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from aioa.analytics import Filters
from aioa.analytics.compare import compare_periods
from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot
from tests.apps.conftest import PASSWORD, signed_in

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")
PAGES = ("behaviour", "comparisons")


def _window(home) -> Filters:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        last = connection.execute("select max(day) from marts.agg_usage_daily").fetchone()[0]
    return Filters(start=last - timedelta(days=29), end=last)


def _open(page: str, email: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=90)
    if email:
        signed_in(app, email, PASSWORD)
    else:
        app.run()
    app.switch_page(f"app_pages/{page}.py")
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    return app


@pytest.mark.parametrize("page", PAGES)
def test_the_operator_sees_every_section(page, built_home, monkeypatch):
    monkeypatch.setenv("AIOA_AUTH", "off")
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    monkeypatch.setenv("AIOA_DATABASE_URL", f"sqlite:///{built_home.parent / 'analysis-operator.db'}")
    app = _open(page)
    expected = {
        "behaviour": ["How people work", "Project lifecycle", "Workflow patterns"],
        "comparisons": [
            "This period against the one before",
            "Team against team, project against project",
            "Team KPIs",
        ],
    }[page]
    assert [header.value for header in app.subheader] == expected
    assert app.dataframe, "a page of tables shows none"
    if page == "comparisons":
        connection, _ = open_snapshot(Settings(home=built_home))
        with connection:
            verdict = compare_periods(connection, _window(built_home), TenantScope.all_orgs()).test.verdict
        assert verdict in [item.value for item in [*app.info, *app.success]]


@pytest.mark.parametrize("email", ["boss@acme.example", "alice@acme.example", "amara@acme.example"])
@pytest.mark.parametrize("page", PAGES)
def test_every_role_sees_the_pages(page, email, signed_home):
    app = _open(page, email)
    assert app.title[-1].value in ("Behaviour & patterns", "Comparisons & KPIs")
    if page == "behaviour" and email != "boss@acme.example":  # lifecycles are org totals: a team scope reads none
        assert any("Admins" in item.value for item in app.info)
    if page == "comparisons":
        can_save = any(button.label == "Save KPI" for button in app.button)
        assert can_save == (email != "amara@acme.example")


def test_a_user_saves_a_team_kpi_that_their_team_reads(signed_home):
    app = _open("comparisons", "alice@acme.example")
    app.text_input(key="kpi_name").input("Cost per session")
    app.text_input(key="kpi_formula").input("spend / sessions")
    app.selectbox(key="kpi_unit").select("usd")
    next(button for button in app.button if button.label == "Save KPI").click().run()
    assert not app.exception and not app.error, [item.value for item in app.error]
    window = _window(signed_home)
    connection, _ = open_snapshot(Settings(home=signed_home))
    with connection:
        spend, sessions = connection.execute(
            """select (select sum(cost_usd) from marts.fct_llm_calls where org_id = 'acme'
                        and team_id = 'acme-platform' and day between $start and $end),
                      (select count(*) from marts.fct_sessions where org_id = 'acme'
                        and team_id = 'acme-platform' and day between $start and $end)""",
            {"start": window.start, "end": window.end},
        ).fetchone()
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Cost per session (team acme-platform)"] == f"${spend / sessions:,.2f}"
    viewer = _open("comparisons", "amara@acme.example")  # another team: not theirs to see
    assert not viewer.metric
    admin = _open("comparisons", "boss@acme.example")  # the team's KPI over the team's rows, for the admin too
    assert {metric.label: metric.value for metric in admin.metric}["Cost per session (team acme-platform)"] == (
        f"${spend / sessions:,.2f}"
    )
    app.button(key="kpi_remove").click().run()  # its team's User removes it
    assert not app.exception and not app.metric


def test_a_formula_that_is_not_arithmetic_is_refused_on_the_page(signed_home):
    app = _open("comparisons", "alice@acme.example")
    app.text_input(key="kpi_name").input("Bad")
    app.text_input(key="kpi_formula").input("__import__('os').getcwd()")
    next(button for button in app.button if button.label == "Save KPI").click().run()
    assert any("Not saved" in item.value for item in app.error)
    assert not app.metric
