"""The data age a live page shows: the snapshot's version is the UTC time it was published (publish_snapshot), read
back into minutes or hours; a version of another kind is named as it is. (The re-read on a new snapshot is checked
in a real browser: test_browser_dashboards.py.)"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from aioa.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "apps" / "dashboard"))
import live  # noqa: E402 - the app's modules import each other by name

VERSION = "20261130T140203123456Z"
PUBLISHED = datetime(2026, 11, 30, 14, 2, 3, 123456, tzinfo=UTC)


def test_the_version_is_the_time_it_was_published():
    assert live.published_at(VERSION) == PUBLISHED
    assert live.published_at("postgres-42") is None


def test_data_age_in_words():
    at = PUBLISHED.replace(second=40)
    assert live.data_age(VERSION, at) == "Data published just now (30 Nov 14:02 UTC)"
    assert (
        live.data_age(VERSION, PUBLISHED.replace(minute=6, second=10)) == "Data published 4 min ago (30 Nov 14:02 UTC)"
    )
    assert live.data_age(VERSION, PUBLISHED.replace(hour=16, minute=32)) == (
        "Data published 2 h 30 min ago (30 Nov 14:02 UTC)"
    )
    assert live.data_age("postgres-42", at) == "Data from snapshot postgres-42"
