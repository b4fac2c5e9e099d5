"""The app signs in with the identity store's accounts: nothing shows before sign-in, each role sees the pages and
rows the permission table gives it, a User opens on their own usage, and a disabled account is signed out. (The form,
its route and the session cookie, in a real browser: test_auth_routes.py.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aioa.identity import accounts
from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.snapshots import open_snapshot
from tests.apps.conftest import PASSWORD, signed_in

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")


def _sign_in(email: str, password: str = PASSWORD) -> AppTest:
    return signed_in(AppTest.from_file(APP, default_timeout=60), email, password)


def _total(home, sql: str, *params) -> float:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(sql, list(params)).fetchone()[0] or 0.0


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _window(where: str) -> str:
    return f"{where} and day > (select max(day) - 30 from marts.agg_usage_daily where {where})"


def test_nothing_shows_before_sign_in(signed_home):
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    assert [title.value for title in app.title] == ["Sign in"]
    assert not app.metric and not app.dataframe
    (form,) = [element.proto.body for element in app.get("html") if "<form" in element.proto.body]
    assert 'method="post" action="/auth/sign-in"' in form and 'name="password"' in form


def test_the_routes_reason_for_a_failed_sign_in_is_shown(signed_home):
    for reason, message in (("failed", "Email or password is wrong."), ("locked", "this account is locked")):
        app = AppTest.from_file(APP, default_timeout=60)
        app.query_params["sign_in_error"] = reason  # where auth_routes.sign_in sends a failed attempt back
        app.run()
        assert not app.exception
        assert any(message in error.value for error in app.error)
        assert not app.metric


def test_a_viewer_sees_only_their_team(signed_home):
    app = _sign_in("amara@acme.example")
    assert not app.exception, [item.value for item in app.exception]
    assert app.title[0].value == "Overview"
    where = "org_id = 'acme' and team_id = 'acme-web'"
    spend = _total(signed_home, f"select sum(cost_usd) from marts.agg_usage_daily where {_window(where)}")
    org_window = _window("org_id = 'acme'")
    org_spend = _total(signed_home, f"select sum(cost_usd) from marts.agg_usage_daily where {org_window}")
    assert 0 < spend < org_spend
    assert _metrics(app)["Spend"] == f"${spend:,.2f}"
    # one org and one team: no Org or Team filter to choose from; their team's projects and models still are
    assert [box.label for box in app.sidebar.multiselect] == ["Project", "Model"]
    for page in ("ask", "quality", "admin"):  # not among a Viewer's pages: the navigation does not register them
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(f"app_pages/{page}.py")


def test_a_user_opens_on_their_own_usage(signed_home):
    app = _sign_in("alice@acme.example")
    assert not app.exception, [item.value for item in app.exception]
    assert app.title[0].value == "My usage"
    where = "org_id = 'acme' and user_id = 'alice'"
    spend = _total(signed_home, f"select sum(cost_usd) from marts.agg_usage_daily where {_window(where)}")
    assert spend > 0 and _metrics(app)["Spend"] == f"${spend:,.2f}"


def test_an_admin_manages_only_their_org(signed_home):
    app = _sign_in("boss@acme.example")
    app.switch_page("app_pages/admin.py").run()
    assert not app.exception, [item.value for item in app.exception]
    assert app.title[0].value == "Admin"
    users = app.dataframe[0].value
    assert set(users["email"]) == {"boss@acme.example", "alice@acme.example", "amara@acme.example"}
    assert set(users["org_id"]) == {"acme"}


def test_a_disabled_account_is_signed_out_on_the_next_click(signed_home):
    app = _sign_in("alice@acme.example")
    assert app.title[0].value == "My usage"
    accounts.disable_user(Settings(), "alice@acme.example")
    app.run()
    assert [title.value for title in app.title] == ["Sign in"]


def test_the_org_branding_shows_for_its_members(signed_home):
    from aioa.tenants.settings_doc import update_tenant_settings

    update_tenant_settings(
        Settings(),
        "acme",
        {"branding": {"display_name": "Acme <Analytics>", "primary_color": "#FF6600"}},
        actor="operator",
    )
    app = _sign_in("amara@acme.example")
    html = " ".join(str(element.proto) for element in app.sidebar.get("html"))
    assert "Acme &lt;Analytics&gt;" in html and "#ff6600" in html  # escaped name, normalised colour
