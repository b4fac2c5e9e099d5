"""My dashboard layouts: saved per person in the identity store (SQLite here, PostgreSQL below), restored in their
order, never handed to someone else or read in another org, and refused when a widget is not one the app knows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aioa.dashboards.layouts import MAX_WIDGETS, load_layout, save_layout
from aioa.identity.principal import Principal, local_operator
from tests.identity.test_postgres import pg  # noqa: F401 - fixture: a fresh PostgreSQL identity database

ALICE = Principal(subject="u-alice", kind="user", org_id="acme", role="user", team_id="red")
BOB = Principal(subject="u-bob", kind="user", org_id="acme", role="viewer")
WIDGETS = [
    {"kind": "chart", "chart": "daily_spend", "by": "model"},
    {"kind": "kpi", "metric": "spend_usd"},
    {"kind": "question", "question": "top 5 projects by spend last month"},
    {"kind": "table", "table": "spend_by", "by": "user"},
]


def _round_trip(settings) -> None:
    assert load_layout(settings, ALICE) is None
    save_layout(settings, ALICE, WIDGETS)
    stored = load_layout(settings, ALICE)
    assert [widget.model_dump() for widget in stored] == WIDGETS  # same widgets, same order
    save_layout(settings, ALICE, list(reversed(WIDGETS)))  # re-ordered: replaces, not appends
    assert [widget.model_dump() for widget in load_layout(settings, ALICE)] == list(reversed(WIDGETS))
    assert load_layout(settings, BOB) is None  # someone else's layout is not shared


def test_a_layout_is_saved_and_restored_in_its_order(ids):
    _round_trip(ids)


@pytest.mark.postgres
def test_a_layout_is_saved_and_restored_on_postgresql(pg):  # noqa: F811 - the fixture
    _round_trip(pg)


def test_a_layout_saved_in_another_org_is_not_restored(ids):
    save_layout(ids, ALICE, WIDGETS)
    moved = Principal(subject="u-alice", kind="user", org_id="globex", role="user")
    assert load_layout(ids, moved) is None


def test_the_local_operator_has_a_layout_of_its_own(ids):
    save_layout(ids, local_operator(), WIDGETS[:1])
    assert [widget.model_dump() for widget in load_layout(ids, local_operator())] == WIDGETS[:1]
    assert load_layout(ids, ALICE) is None


@pytest.mark.parametrize(
    "widget",
    [
        {"kind": "kpi", "metric": "password"},  # not a headline metric
        {"kind": "chart", "chart": "daily_spend", "by": "org_id; drop table users"},
        {"kind": "table", "table": "spend_by", "by": "user", "org": "globex"},  # a widget carries no tenant
        {"kind": "question", "question": ""},
        {"kind": "iframe", "url": "https://example.com"},
    ],
)
def test_unknown_widgets_are_refused_and_nothing_is_stored(ids, widget):
    with pytest.raises(ValidationError):
        save_layout(ids, ALICE, [WIDGETS[0], widget])
    assert load_layout(ids, ALICE) is None


def test_a_layout_holds_at_most_max_widgets(ids):
    with pytest.raises(ValueError, match=f"at most {MAX_WIDGETS}"):
        save_layout(ids, ALICE, [WIDGETS[1]] * (MAX_WIDGETS + 1))
