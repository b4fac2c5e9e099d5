"""A read-only connection to the built sample's snapshot, and the fixed 'today' the golden answers assume."""

from __future__ import annotations

from datetime import date

import pytest

from aioa.settings import Settings
from aioa.warehouse.snapshots import open_snapshot

TODAY = date(2026, 11, 20)  # the sample's last day


@pytest.fixture(scope="module")
def snapshot(built_home):
    connection, _ = open_snapshot(Settings(home=built_home))
    yield connection
    connection.close()


@pytest.fixture
def ask_settings(built_home):
    return Settings(home=built_home, llm_provider="none")
