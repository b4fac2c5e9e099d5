"""The report builder page (streamlit AppTest): it builds the chosen template over the sidebar's filters, offers the
file, refuses a section that cannot show a metric, and saves the edited template for the org."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aioa.reports.render.store import saved_templates
from aioa.settings import PROJECT_ROOT, Settings

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")


@pytest.fixture
def reports_page(built_home, tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(built_home))  # the snapshot, read only
    database = f"sqlite:///{tmp_path / 'identity.db'}"  # saved templates go to this test's own store
    monkeypatch.setenv("AIOA_DATABASE_URL", database)
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page("app_pages/reports.py")
    app.run()
    yield app, Settings(home=built_home, database_url=database)


def test_the_builder_previews_offers_the_file_and_saves_a_template(reports_page):
    app, settings = reports_page
    assert not app.exception, [item.value for item in app.exception]
    assert app.title[0].value == "Reports"
    assert app.get("download_button")  # the chosen format's file
    app.selectbox(key="reports_template").set_value("team-weekly").run()
    app.text_input(key="title_team-weekly").set_value("Platform weekly").run()
    assert not app.exception, [item.value for item in app.exception]
    app.text_input[-1].set_value("platform-weekly")
    app.button[-1].click().run()
    assert not app.exception, [item.value for item in app.exception]
    assert "Saved platform-weekly" in app.success[0].value
    org = app.selectbox(key="reports_org").value
    (saved,) = saved_templates(settings, org)
    assert saved.name == "platform-weekly" and saved.title == "Platform weekly"
    assert [section.kind for section in saved.sections] == ["kpis", "trend", "breakdown", "breakdown"]
