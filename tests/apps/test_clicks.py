"""One click, one change (clicks.py): an action delivered twice from the same drawn revision applies once, and the
next run's buttons (drawn at the new revision) apply again. The delivery twice itself, a live page's timed check
coinciding with a click, is met in a real browser: test_browser_dashboards.py arranges My dashboard under a 2 s
refresh."""

from __future__ import annotations

import sys

from streamlit.testing.v1 import AppTest

from aioa.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "apps" / "dashboard"))


def _layout_page():
    import streamlit as st
    from clicks import apply_once, revision

    layout = st.session_state.setdefault("layout", ["spend", "calls", "errors"])

    def move_down(index: int) -> None:
        layout.insert(index + 1, layout.pop(index))

    if st.session_state.pop("deliver_twice", False):  # as Streamlit may when a live page's timed check coincides
        shown = revision("layout")
        apply_once("layout", shown, move_down, 0)
        apply_once("layout", shown, move_down, 0)
    drawn = revision("layout")
    st.button("Move down", key="down", on_click=apply_once, args=("layout", drawn, move_down, 0))
    st.write(" | ".join(layout))


def test_a_click_delivered_twice_moves_once_and_the_next_click_moves_again():
    app = AppTest.from_function(_layout_page)
    app.run()
    app.session_state["deliver_twice"] = True
    app.run()
    assert app.session_state["layout"] == ["calls", "spend", "errors"]  # once, not back where it was
    app.button(key="down").click().run()  # drawn at the new revision: it applies
    assert app.session_state["layout"] == ["spend", "calls", "errors"]
    assert app.markdown[0].value == "spend | calls | errors"
    assert not app.exception
