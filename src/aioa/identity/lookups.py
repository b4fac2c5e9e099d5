"""A short-lived, per-process cache of the identity rows every API request reads: signing keys, accounts, sign-in
sessions and API keys. Signatures, expiry and every other check still run on each request; only the row reads are
kept.

An entry lives at most LOOKUP_TTL_S seconds, and any write committed through this process's identity store
(`store.session_scope(write=True)`: disabling an account, revoking a session or a key, retiring a signing key …)
drops every entry at once. So a change made in this process shows on the next request, and one made by another
process (the CLI, another `aioa serve` worker) within LOOKUP_TTL_S seconds (docs/security.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from aioa.identity import store

T = TypeVar("T")
LOOKUP_TTL_S = 5.0
MAX_ENTRIES = 10_000  # a flood of distinct (bad) tokens must not grow the cache without bound

_entries: dict[Hashable, tuple[float, int, object]] = {}
_lock = threading.Lock()


def cached(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s value for `key`, read again after LOOKUP_TTL_S or after any write through the store."""
    generation, now = store.generation(), time.monotonic()
    hit = _entries.get(key)
    if hit is not None and hit[1] == generation and now - hit[0] < LOOKUP_TTL_S:
        return hit[2]  # type: ignore[return-value]
    value = load()
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        # The generation read before loading: a write during the load makes this entry stale at once.
        _entries[key] = (now, generation, value)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
