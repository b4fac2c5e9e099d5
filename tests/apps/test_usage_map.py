"""Usage map: teams' spend drawn at the places their org set (tenant settings `team_locations`), equal to the marts;
no base map (nothing fetched from the internet); without locations the page says how to set them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

from aioa.identity.principal import local_operator
from aioa.settings import PROJECT_ROOT, Settings
from aioa.tenants.settings_doc import TenantSettings, update_tenant_settings
from aioa.warehouse.snapshots import open_snapshot

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")
PLACES = [
    {"team": "acme-platform", "location": "Berlin", "lat": 52.52, "lon": 13.4},
    {"team": "acme-web", "location": "Lisbon", "lat": 38.72, "lon": -9.14},
]


@pytest.fixture
def home(built_home, tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    monkeypatch.setenv("AIOA_DATABASE_URL", f"sqlite:///{tmp_path / 'identity.db'}")  # not the shared home's
    return built_home


def _map() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("app_pages/usage_map.py")
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    return app


def test_without_locations_the_page_says_how_to_set_them(home):
    app = _map()
    assert "team_locations" in app.info[0].value


def test_each_located_team_is_drawn_at_its_place_with_its_spend(home):
    update_tenant_settings(Settings(), "acme", {"team_locations": PLACES}, actor=local_operator())
    app = _map()
    figure = app.get("plotly_chart")[0].proto.spec
    assert '"scattergeo"' not in figure and '"geo"' not in figure  # no base map to fetch
    shown = app.dataframe[0].value.set_index("team")
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        expected = dict(
            connection.execute(
                "select team_id, sum(cost_usd) from marts.agg_usage_daily "
                "where team_id in ('acme-platform', 'acme-web') "
                "and day > (select max(day) - 30 from marts.agg_usage_daily) group by 1"
            ).fetchall()
        )
    assert set(shown.index) == set(expected)
    for team, spend in expected.items():
        assert shown.loc[team, "cost_usd"] == pytest.approx(spend)
    assert shown.loc["acme-platform", "location"] == "Berlin"


def test_a_team_with_two_places_is_refused():
    with pytest.raises(ValidationError, match="one location per team"):
        TenantSettings.model_validate({"team_locations": [PLACES[0], {**PLACES[1], "team": "acme-platform"}]})
