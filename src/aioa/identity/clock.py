"""The identity store's clock: UTC, timezone-aware; one function so tests can move time."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
