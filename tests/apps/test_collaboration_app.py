"""In the app, signed in: a User saves the Overview's filters as a view for their team (a Viewer of another team
does not see it), and an annotated day shows as a marker on the Overview's daily spend chart."""

from __future__ import annotations

import json
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from aioa.collab.store import add_annotation, views
from aioa.identity import accounts
from aioa.identity.principal import Principal
from aioa.settings import PROJECT_ROOT, Settings
from tests.apps.conftest import signed_in

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")
PASSWORD = "correct horse battery"


@pytest.fixture
def signed_home(built_home, tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    monkeypatch.setenv("AIOA_AUTH", "on")
    monkeypatch.setenv("AIOA_DATABASE_URL", f"sqlite:///{tmp_path / 'identity.db'}")
    settings = Settings()
    accounts.create_user(
        settings, "alice@acme.example", org_id="acme", role="user", team_id="acme-platform", password=PASSWORD
    )
    accounts.create_user(
        settings, "amara@acme.example", org_id="acme", role="viewer", team_id="acme-web", password=PASSWORD
    )
    return settings


def _sign_in(email: str) -> AppTest:
    app = signed_in(AppTest.from_file(APP, default_timeout=90), email, PASSWORD)
    assert not app.exception, [item.value for item in app.exception]
    return app


def test_a_saved_view_is_the_pages_query_string_for_the_team(signed_home):
    app = _sign_in("alice@acme.example")
    assert app.title[0].value == "Overview"
    app.text_input(key="saved_view_name").input("Last month")
    next(button for button in app.button if button.label == "Save view").click().run()
    assert not app.exception
    principal = Principal(subject="x", kind="user", org_id="acme", role="user", team_id="acme-platform")
    (view,) = views(signed_home, principal)
    assert view["page"] == "Overview" and view["team_id"] == "acme-platform"
    assert "start=" in view["query"] and "end=" in view["query"]
    viewer = Principal(subject="y", kind="user", org_id="acme", role="viewer", team_id="acme-web")
    assert views(signed_home, viewer) == []


def test_an_annotated_day_is_a_marker_on_the_overview_chart(signed_home):
    app = _sign_in("amara@acme.example")
    start, end = (date.fromisoformat(str(app.query_params[name])) for name in ("start", "end"))
    author = Principal(subject="z", kind="user", org_id="acme", role="user", team_id="acme-web")
    add_annotation(signed_home, author, body="Pricing changed", day=end, metric="spend")
    add_annotation(signed_home, author, body="outside the window", day=date(2000, 1, 1))
    app.run()
    (chart,) = [element for element in app.get("plotly_chart")]
    spec = json.loads(chart.proto.spec)
    shapes = spec["layout"].get("shapes", [])
    assert [shape["x0"][:10] for shape in shapes] == [end.isoformat()] and start <= end
    assert "Pricing changed" in spec["layout"]["annotations"][0]["hovertext"]
    assert not [button for button in app.button if button.label == "Add"]  # a viewer only reads
