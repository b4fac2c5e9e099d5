"""One click, one change. Streamlit can hand one click to two script runs when a live page's timed check
(`st.fragment(run_every=...)`, live.py) coincides with it: the fragment's run carries the click too, or the page's
run restarts with it. A move, removal or page turn applied twice undoes or overshoots what the user asked for.

So an action names the revision of the state it was drawn from and applies only while that revision is current;
applying it moves the state to the next revision, and the second delivery finds it stale and does nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def revision(name: str) -> int:
    """The current revision of the session's state `name` (0 before its first change)."""
    return st.session_state.get(f"{name}__revision", 0)


def advance(name: str) -> None:
    """Move the state `name` to its next revision (after a change made outside `apply_once`)."""
    st.session_state[f"{name}__revision"] = revision(name) + 1


def apply_once(name: str, drawn: int, change: Callable[..., Any], *args: Any) -> None:
    """A button's callback: `change(*args)` when the state `name` is still at the revision `drawn` the button was
    drawn at, then the next revision; nothing when it has moved on (the same click delivered again)."""
    if revision(name) != drawn:
        return
    change(*args)
    advance(name)
