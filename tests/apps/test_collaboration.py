"""Team collaboration: annotations on days, metrics and incidents stay in their org (and, when asked, their team);
viewers only read; the chart helper puts one marker per annotated day with its comments on hover and its form adds
a note; saved views are a name and a normalised query string per team."""

from __future__ import annotations

import sys
from datetime import date

import plotly.express as px
import pytest
from streamlit.testing.v1 import AppTest

from aioa.collab.store import add_annotation, annotations, save_view, view_url, views
from aioa.identity.permissions import Forbidden
from aioa.identity.principal import Principal
from aioa.settings import PROJECT_ROOT, Settings

sys.path.insert(0, str(PROJECT_ROOT / "apps" / "dashboard"))  # the app's own modules (annotations, signin)


def person(role: str, org: str = "acme", team: str | None = "web", subject: str = "u1") -> Principal:
    return Principal(
        subject=subject, kind="user", org_id=org, role=role, email=f"{subject}@{org}.example", team_id=team
    )


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "home"))
    return Settings(home=tmp_path / "home")


def test_annotations_stay_in_their_org_and_team(settings):
    alice, bob = person("user", subject="alice"), person("user", team="data", subject="bob")
    add_annotation(settings, alice, body="Release 2.4 shipped", day=date(2026, 11, 3))
    add_annotation(settings, alice, body="Load test on staging", day=date(2026, 11, 4), metric="spend", team_only=True)
    add_annotation(settings, person("admin", org="globex"), body="globex only", day=date(2026, 11, 3))

    def bodies(who, **kwargs):
        return [note.body for note in annotations(settings, who, **kwargs)]

    assert bodies(alice) == ["Release 2.4 shipped", "Load test on staging"]
    assert bodies(bob) == ["Release 2.4 shipped"]  # another team: the org-wide note only
    assert bodies(person("admin", team=None)) == ["Release 2.4 shipped", "Load test on staging"]
    assert bodies(alice, start=date(2026, 11, 4), end=date(2026, 11, 30)) == ["Load test on staging"]
    assert bodies(alice, metric="calls") == ["Release 2.4 shipped"]  # day notes, not another metric's
    assert bodies(person("viewer", org="globex")) == ["globex only"]
    with pytest.raises(Forbidden):
        add_annotation(settings, person("viewer"), body="nope", day=date(2026, 11, 3))
    with pytest.raises(ValueError, match="unknown metric"):
        add_annotation(settings, alice, body="x", metric="speed")
    with pytest.raises(LookupError, match="no incident"):
        add_annotation(settings, alice, body="x", incident_id="inc_of_another_org")


def test_saved_views_are_per_team_and_shared_by_url(settings):
    alice = person("user", subject="alice")
    saved = save_view(settings, alice, name="API spend", page="Costs", query="?start=2026-11-01&projects=api&x=")
    assert saved["query"] == "start=2026-11-01&projects=api" and saved["team_id"] == "web"
    save_view(settings, alice, name="API spend", page="Costs", query="start=2026-11-02&projects=api")  # replaced
    (view,) = views(settings, person("viewer", subject="carol"))  # a viewer of the team sees it
    assert view["query"] == "start=2026-11-02&projects=api"
    assert view_url(view, "costs") == "/costs?start=2026-11-02&projects=api"
    assert views(settings, person("user", team="data", subject="bob")) == []
    assert views(settings, person("admin", org="globex")) == []
    with pytest.raises(Forbidden):
        save_view(settings, person("viewer"), name="mine", page="Costs", query="")


def test_markers_one_per_annotated_day_with_the_comments_on_hover(settings):
    from annotations import add_markers  # apps/dashboard is on the app's path

    alice = person("user", subject="alice")
    for body, day in (("deploy <b>", date(2026, 11, 3)), ("rollback", date(2026, 11, 3)), ("promo", date(2026, 11, 5))):
        add_annotation(settings, alice, body=body, day=day)
    figure = px.line(x=[date(2026, 11, day) for day in range(1, 8)], y=list(range(7)))
    add_markers(figure, annotations(settings, alice))
    assert [shape.x0 for shape in figure.layout.shapes] == [date(2026, 11, 3), date(2026, 11, 5)]
    first, second = figure.layout.annotations
    assert first.text == "✎2" and "deploy &lt;b&gt;" in first.hovertext and "rollback" in first.hovertext
    assert second.text == "✎" and second.hovertext.endswith("promo")


def _chart_page():
    from datetime import date
    from types import SimpleNamespace

    import plotly.express as px
    import streamlit as st
    from annotations import annotate

    from aioa.analytics import Filters
    from aioa.identity.principal import Principal

    principal = Principal(subject="alice", kind="user", org_id="acme", role=st.session_state["role"], team_id="web")
    days = [date(2026, 11, day) for day in range(1, 8)]
    context = SimpleNamespace(principal=principal, filters=Filters(days[0], days[-1]))
    figure = annotate(px.line(x=days, y=list(range(7))), context, metric="spend", key="chart")
    st.session_state["markers"] = [str(shape.x0) for shape in figure.layout.shapes]
    st.plotly_chart(figure)


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_the_chart_form_adds_a_note_for_those_who_may_write(settings, role):
    app = AppTest.from_function(_chart_page, default_timeout=30)
    app.session_state["role"] = role
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    if role == "viewer":
        assert not [button for button in app.button if button.label == "Add"]
        return
    app.date_input[0].set_value(date(2026, 11, 4))
    app.text_input(key="chart_annotation_body").input("Prices changed")
    next(button for button in app.button if button.label == "Add").click().run()
    assert app.session_state["markers"] == ["2026-11-04"]
    (note,) = annotations(settings, person("user", subject="alice"))
    assert (note.day, note.metric, note.body) == (date(2026, 11, 4), "spend", "Prices changed")
