"""Answers cached per published snapshot. A snapshot never changes, so an answer computed for (snapshot version,
the caller's scope, the route, its parameters) stays exact until the next snapshot is published; then the cache
starts empty. Only answers are cached, never who may read them: authentication, permission, scope and audit run on
every request."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from fastapi import Request

T = TypeVar("T")
MAX_ENTRIES = 2048


class SnapshotCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._version: str | None = None
        self._max = max_entries
        self._lock = threading.Lock()

    def get_or_compute(self, version: str, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()  # outside the lock: two first requests may both compute, never block each other
        with self._lock:
            if version == self._version:
                self._entries[key] = value
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
        return value


def cached(request: Request, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`'s answer for this request's snapshot, scope, route and `key` (its parameters)."""
    cache: SnapshotCache = request.app.state.answer_cache
    route = request.scope.get("route")
    full_key = (getattr(route, "path", request.url.path), request.state.scope, key)
    return cache.get_or_compute(request.state.snapshot_version, full_key, compute)
