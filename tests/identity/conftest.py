"""Identity fixtures: a fresh SQLite identity store per test, cheap argon2 parameters, and a clock tests can move."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from aioa.identity import accounts, clock, store
from aioa.settings import Settings

# argon2id with the smallest sensible cost: the library's default (64 MiB) would make every sign-in test slow.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def ids(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose identity store is a fresh SQLite file under the test's AIOA_HOME."""
    monkeypatch.delenv("AIOA_DATABASE_URL", raising=False)
    monkeypatch.setattr(accounts, "HASHER", CHEAP_HASHER)
    yield settings
    store.dispose_all()


class Clock:
    """`clock.now()` moved forward by `advance()` (the real time plus an offset)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        real_now = clock.now
        monkeypatch.setattr(clock, "now", lambda: real_now() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def moved_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)
