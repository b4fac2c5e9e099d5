"""Pages that stay current while open: a small fragment re-runs every `dashboard_refresh_s` seconds, reads only
which snapshot is published (the pointer, not the data) and shows how old the data is. When a new snapshot was
published it re-runs the page, whose loaders (keyed by the snapshot version) then read the new data; while the
snapshot is the same nothing else runs, so charts keep their zoom and selection."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st
from page_kit import PageContext, snapshot_version

from aioa import formatting
from aioa.settings import get_settings

VERSION_FORMAT = "%Y%m%dT%H%M%S%fZ"  # publish_snapshot's version: the UTC time it was published


def published_at(version: str) -> datetime | None:
    """When the snapshot `version` was published (its version is the time), or None for another kind of version."""
    try:
        return datetime.strptime(version, VERSION_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def data_age(version: str, now: datetime) -> str:
    """'Data published 4 min ago (14:02 UTC)', or the version when its time is unknown."""
    published = published_at(version)
    if published is None:
        return f"Data from snapshot {version}"
    minutes = int(max(0.0, (now - published).total_seconds()) // 60)
    ago = (
        "just now"
        if minutes < 1
        else f"{minutes} min ago"
        if minutes < 60
        else f"{formatting.duration(minutes * 60)} ago"
    )
    return f"Data published {ago} ({published:%d %b %H:%M} UTC)"


def watch(context: PageContext) -> None:
    """Draw the data age and, while the page is open, check for a new snapshot every `dashboard_refresh_s`."""
    interval = get_settings().dashboard_refresh_s
    every = f"{interval} s" if interval < 60 else formatting.duration(interval)
    suffix = f" · checks for new data every {every}" if interval else ""

    @st.fragment(run_every=interval or None)
    def _data_age() -> None:
        current = snapshot_version()
        if current is not None and current != context.version:
            st.rerun(scope="app")  # a new snapshot: the page reads it (its loaders are keyed by the version)
        st.caption(f":material/schedule: {data_age(context.version, datetime.now(UTC))}{suffix}")

    _data_age()
