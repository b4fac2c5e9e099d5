"""Answers cached per published snapshot. A snapshot never changes, so an answer computed for (snapshot version,
the caller's scope, the route, its parameters) stays exact until the next snapshot is published; then the cache
starts empty. Only answers are cached, never who may read them: authentication, permission, scope and audit run on
every request.

With `AIOA_REDIS_URL` the answers live in Redis instead, so every API replica shares them: the key is the snapshot
version (in server mode the version PostgreSQL last published), the scope, the route and its parameters, hashed; the
value is the answer as JSON (what the route returns anyway). Entries expire after `REDIS_TTL_S`; a new version
simply never reads the old keys. A Redis that does not answer costs a computed answer, never an error."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import orjson
from fastapi import Request

from aioa.settings import Settings

T = TypeVar("T")
MAX_ENTRIES = 2048
REDIS_TTL_S = 3600
REDIS_PREFIX = "aioa:answers:"
log = logging.getLogger(__name__)


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


class RedisAnswerCache:
    """The same contract over Redis, shared by every replica; answers must be JSON values."""

    def __init__(self, url: str, namespace: str, ttl_s: int = REDIS_TTL_S) -> None:
        self._url = url
        self._namespace = namespace  # which warehouse: two deployments may share one Redis
        self._ttl = ttl_s

    def get_or_compute(self, version: str, key: Hashable, compute: Callable[[], T]) -> T:
        import redis

        digest = hashlib.sha256(repr((self._namespace, key)).encode()).hexdigest()
        name = REDIS_PREFIX + version + ":" + digest
        client = _redis_client(self._url)
        try:
            stored = client.get(name)
        except redis.RedisError as error:
            log.warning("answer cache unavailable, computing: %s", error)
            return compute()
        if stored is not None:
            return orjson.loads(stored)
        value = compute()
        try:
            client.set(name, orjson.dumps(value), ex=self._ttl)
        except redis.RedisError as error:
            log.warning("answer cache unavailable, not stored: %s", error)
        return value


@functools.lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def answer_cache(settings: Settings) -> SnapshotCache | RedisAnswerCache:
    """Redis when configured (shared by replicas), in process otherwise."""
    if not settings.redis_url:
        return SnapshotCache()
    if settings.warehouse == "postgres":  # replicas with different homes read the same server
        namespace = f"{settings.postgres_dsn}#{settings.postgres_schema_prefix}"
    else:
        namespace = str(settings.home)
    return RedisAnswerCache(settings.redis_url, namespace)


def cached(request: Request, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`'s answer for this request's snapshot, scope, route and `key` (its parameters)."""
    cache: SnapshotCache | RedisAnswerCache = request.app.state.answer_cache
    route = request.scope.get("route")
    full_key = (getattr(route, "path", request.url.path), request.state.scope, key)
    return cache.get_or_compute(request.state.snapshot_version, full_key, compute)
