"""My dashboard per role (AppTest, signed in): each role's numbers are its own scope's, a Viewer cannot add or run
saved questions, and a layout arranged and saved in one session comes back in the same order in the next."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aioa.dashboards.layouts import STARTER, load_layout, save_layout
from aioa.identity import accounts
from aioa.settings import Settings
from tests.apps.test_sign_in import PASSWORD, _metrics, _sign_in, _total, _window


@pytest.fixture
def home(signed_home):  # noqa: F811 - the sign-in tests' home: acme's admin, user and viewer accounts
    return signed_home


SCOPES = {  # who signs in -> the rows their role reads
    "boss@acme.example": "org_id = 'acme'",
    "alice@acme.example": "org_id = 'acme' and (team_id = 'acme-platform' or user_id = 'alice')",
    "amara@acme.example": "org_id = 'acme' and team_id = 'acme-web'",
}


def _my_dashboard(email: str) -> AppTest:
    app = _sign_in(email)
    app.switch_page("app_pages/my_dashboard.py")
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    assert app.title[0].value == "My dashboard"
    return app


@pytest.mark.parametrize("email", list(SCOPES))
def test_each_role_sees_its_own_scope_and_only_the_widgets_it_may_add(home, email):
    app = _my_dashboard(email)
    spend = _total(home, f"select sum(cost_usd) from marts.agg_usage_daily where {_window(SCOPES[email])}")
    assert spend > 0 and _metrics(app)["Spend"] == f"${spend:,.2f}"  # the starter layout's first number
    calls = _total(home, f"select sum(calls) from marts.agg_usage_daily where {_window(SCOPES[email])}")
    assert _metrics(app)["Calls"] == f"{calls:,.0f}"
    kinds = app.segmented_control(key="my_add_kind").options
    assert ("Saved question" in kinds) == (email != "amara@acme.example")  # Viewers have no Ask


def test_a_viewer_sees_a_saved_question_as_a_note_not_an_answer(home):
    settings = Settings()
    viewer = accounts.sign_in(settings, "amara@acme.example", PASSWORD)
    save_layout(settings, viewer, [{"kind": "question", "question": "spend by org"}])
    app = _my_dashboard("amara@acme.example")
    assert any("cannot run saved questions" in item.value for item in app.info)
    assert not app.dataframe  # nothing answered


def test_a_layout_is_arranged_saved_and_restored_in_a_new_session(home):
    app = _my_dashboard("alice@acme.example")
    app.segmented_control(key="my_add_kind").set_value("Saved question").run()
    app.text_input(key="my_add_question").input("spend by model").run()
    app.button(key="my_add_question_button").click().run()
    last = len(app.session_state["my_dashboard_draft"]) - 1
    for index in range(last, 0, -1):  # the question to the top
        app.button(key=f"my_up_{index}").click().run()
    app.button(key="my_remove_1").click().run()  # and the first starter number (Spend) gone
    arranged = list(app.session_state["my_dashboard_draft"])
    assert arranged[0] == {"kind": "question", "question": "spend by model"}
    assert {"kind": "kpi", "metric": "spend_usd"} not in arranged
    app.button(key="my_dashboard_save").click().run()
    assert not app.exception, [item.value for item in app.exception]

    again = _my_dashboard("alice@acme.example")  # a new session: read from the identity store
    assert again.session_state["my_dashboard_draft"] == arranged
    assert any(item.value == "**spend by model**" for item in again.markdown)
    assert "Spend" not in _metrics(again) and "Calls" in _metrics(again)
    settings = Settings()
    alice = accounts.sign_in(settings, "alice@acme.example", PASSWORD)
    assert [widget.model_dump() for widget in load_layout(settings, alice)] == arranged


def test_a_question_pinned_on_the_ask_page_shows_on_my_dashboard(home):
    app = _sign_in("alice@acme.example")
    app.switch_page("app_pages/ask.py")
    app.run()
    app.text_input(key="ask_question").input("spend by model").run()
    app.button(key="ask_pin").click().run()
    assert not app.exception, [item.value for item in app.exception]
    app.switch_page("app_pages/my_dashboard.py")
    app.run()
    pinned = {"kind": "question", "question": "spend by model"}
    assert app.session_state["my_dashboard_draft"] == [*STARTER, pinned]  # the starter, then the question
    assert any(item.value == "**spend by model**" for item in app.markdown)
    settings = Settings()
    alice = accounts.sign_in(settings, "alice@acme.example", PASSWORD)
    assert [widget.model_dump() for widget in load_layout(settings, alice)] == [*STARTER, pinned]
