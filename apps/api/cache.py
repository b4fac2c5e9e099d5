"""Answers cached per published snapshot. A snapshot never changes, so an answer computed for (snapshot version,
the caller's scope, the route, its parameters) stays exact until the next snapshot is published; then the cache
starts empty. Only answers are cached, never who may read them: authentication, permission, scope and audit run on
every request.

Routes whose answer is one JSON document (`/v1/kpis`, `/v1/reports/{kind}`) cache it encoded (`EncodedAnswer`: the
JSON bytes, their gzip copy and an ETag), so a cached answer is a dictionary lookup and a send (`cached_answer`):
no thread hop for a reader, no query, no encoding. A client that sends the ETag back (`If-None-Match`) gets
`304 Not Modified`; one that accepts gzip gets the stored gzip copy. Responses say `Cache-Control: private,
no-cache` and `Vary: Authorization`: no shared cache may hand one caller's answer to another.

With `AIOA_REDIS_URL` the answers live in Redis instead, so every API replica shares them: the key is the snapshot
version (in server mode the version PostgreSQL last published), the scope, the route and its parameters, hashed; the
value is the answer as JSON (encoded answers: a short JSON header, the body and its gzip copy). Entries expire after
`REDIS_TTL_S`; a new version simply never reads the old keys. A Redis that does not answer costs a computed answer,
never an error."""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from apps.api.deps import note
from fastapi import HTTPException, Request, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from aioa.settings import Settings
from aioa.warehouse.connection import TimedReader

T = TypeVar("T")
MAX_ENTRIES = 2048
REDIS_TTL_S = 3600
REDIS_PREFIX = "aioa:answers:"
GZIP_MIN_BYTES = 1400  # smaller bodies fit in one packet: compressing them saves nothing
GZIP_LEVEL = 6
ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY  # as `OrjsonResponse`
_MISSING = object()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedAnswer:
    """One answer as sent: the JSON body, its gzip copy (large bodies only), an ETag of the body, the rows the audit
    entry records and extra headers (e.g. `X-Total-Count`)."""

    body: bytes
    gzipped: bytes | None
    etag: str
    rows: int
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, value: Any, *, rows: int, headers: dict[str, str] | None = None) -> EncodedAnswer:
        body = orjson.dumps(value, option=ORJSON_OPTIONS)
        gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        etag = f'W/"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
        return cls(body, gzipped, etag, rows, dict(headers or {}))

    def to_bytes(self) -> bytes:
        """A short JSON header line, then the body and the gzip copy (for Redis)."""
        header = {"etag": self.etag, "rows": self.rows, "headers": self.headers, "body": len(self.body)}
        return orjson.dumps(header) + b"\n" + self.body + (self.gzipped or b"")

    @classmethod
    def from_bytes(cls, stored: bytes) -> EncodedAnswer:
        line, _, rest = stored.partition(b"\n")
        header = orjson.loads(line)
        body, gzipped = rest[: header["body"]], rest[header["body"] :]
        return cls(body, gzipped or None, header["etag"], header["rows"], header["headers"])


class SnapshotCache:
    shared = False  # in this process: looked up on the event loop

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._version: str | None = None
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, version: str, key: Hashable) -> Any:
        """The stored answer, or None."""
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, version: str, key: Hashable, value: object) -> None:
        with self._lock:
            if version != self._version:  # computed while another version was published: not kept
                return
            self._entries[key] = value
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def get_or_compute(self, version: str, key: Hashable, compute: Callable[[], T]) -> T:
        value = self.get(version, key)
        if value is None:
            value = compute()  # outside the lock: two first requests may both compute, never block each other
            self.put(version, key, value)
        return value


class RedisAnswerCache:
    """The same contract over Redis, shared by every replica; answers must be JSON values or `EncodedAnswer`s."""

    shared = True  # network calls: looked up in the thread pool

    def __init__(self, url: str, namespace: str, ttl_s: int = REDIS_TTL_S) -> None:
        self._url = url
        self._namespace = namespace  # which warehouse: two deployments may share one Redis
        self._ttl = ttl_s

    def _name(self, version: str, key: Hashable) -> str:
        digest = hashlib.sha256(repr((self._namespace, key)).encode()).hexdigest()
        return REDIS_PREFIX + version + ":" + digest

    def _load(self, version: str, key: Hashable) -> bytes | None:
        import redis

        try:
            return _redis_client(self._url).get(self._name(version, key))
        except redis.RedisError as error:
            log.warning("answer cache unavailable, computing: %s", error)
            return None

    def _store(self, version: str, key: Hashable, stored: bytes) -> None:
        import redis

        try:
            _redis_client(self._url).set(self._name(version, key), stored, ex=self._ttl)
        except redis.RedisError as error:
            log.warning("answer cache unavailable, not stored: %s", error)

    def get(self, version: str, key: Hashable) -> EncodedAnswer | None:
        stored = self._load(version, key)
        return None if stored is None else EncodedAnswer.from_bytes(stored)

    def put(self, version: str, key: Hashable, value: EncodedAnswer) -> None:
        self._store(version, key, value.to_bytes())

    def get_or_compute(self, version: str, key: Hashable, compute: Callable[[], T]) -> T:
        stored = self._load(version, key)
        if stored is not None:
            return orjson.loads(stored)
        value = compute()
        self._store(version, key, orjson.dumps(value))
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


@dataclass(frozen=True)
class SnapshotRead:
    """What a route's `compute` reads with: a cursor on one snapshot version, and `remember` to cache an
    intermediate value (e.g. every row of a report that is sent page by page) under that same version."""

    reader: TimedReader
    version: str
    _cache: SnapshotCache | RedisAnswerCache
    _route_and_scope: tuple

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        return self._cache.get_or_compute(self.version, (*self._route_and_scope, key), compute)


async def cached_answer(request: Request, key: Hashable, compute: Callable[[SnapshotRead], EncodedAnswer]) -> Response:
    """The answer for this request's snapshot, scope, route and `key` (its parameters): from the cache, or
    `compute(...)` in the thread pool with a cursor on the current snapshot (stored under the version it read).
    Notes the answer's rows for the audit entry; 304 when the client already holds it."""
    settings: Settings = request.app.state.settings
    cache: SnapshotCache | RedisAnswerCache = request.app.state.answer_cache
    route = request.scope.get("route")
    full_key = (getattr(route, "path", request.url.path), request.state.scope, key)
    version = await _current_version(settings)
    found = await run_in_threadpool(cache.get, version, full_key) if cache.shared else cache.get(version, full_key)
    if found is None:
        found = await run_in_threadpool(_compute_and_store, settings, cache, full_key, compute)
    note(request, rows=found.rows)
    return respond(request, found)


def _compute_and_store(settings: Settings, cache, full_key: tuple, compute) -> EncodedAnswer:
    from apps.api.reader import snapshot_reader

    with snapshot_reader(settings) as (reader, version):
        answer = compute(SnapshotRead(reader, version, cache, full_key[:2]))
    cache.put(version, full_key, answer)
    return answer


async def _current_version(settings: Settings) -> str:
    """The published version (DuckDB: the pointer file, read here; PostgreSQL: a query, in the thread pool)."""
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot

    try:
        if settings.warehouse == "postgres":
            from apps.api.reader import snapshot_connection

            return (await run_in_threadpool(snapshot_connection, settings))[1]
        return current_snapshot(settings)[0]
    except NoSnapshotError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None


def respond(request: Request, answer: EncodedAnswer) -> Response:
    """200 with the body (gzip when the client accepts it), or 304 when `If-None-Match` names this answer."""
    headers = {
        "etag": answer.etag,
        "cache-control": "private, no-cache",  # the caller's own answer: revalidate, never share
        "vary": "Authorization, Accept-Encoding",
    }
    if _matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    body = answer.body
    if answer.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding")):
        body, headers["content-encoding"] = answer.gzipped, "gzip"
    return Response(body, media_type="application/json", headers=headers | answer.headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    own = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == own for tag in if_none_match.split(","))


def _accepts_gzip(accept_encoding: str | None) -> bool:
    for coding in (accept_encoding or "").split(","):
        name, _, parameters = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return _quality(parameters) > 0  # `gzip;q=0` refuses it
    return False


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
