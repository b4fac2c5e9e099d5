"""Quotas: token buckets per minute (API requests) and counters per UTC day (ingested rows).

With `settings.redis_url` the state lives in Redis, so every API worker shares it: each decision is one Lua script
(read, refill, take, write and expire in one atomic step, on the Redis server's clock). Without Redis it lives in
this process, behind a lock. Either way a request is granted only if the whole `cost` fits: a bucket never goes
below zero and a day's counter never above its limit, however many threads or processes ask at once.

A Redis that cannot be reached raises `QuotaUnavailable` (the caller answers 503): a quota never silently turns
into no quota.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aioa.settings import Settings

KEY_PREFIX = "aioa:quota:"


class QuotaUnavailable(RuntimeError):
    """The shared quota store (Redis) could not be reached."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: float  # tokens (or rows) left after this decision
    retry_after_s: float | None  # 0 when allowed; None when `cost` can never fit (above the limit)


# --- per-minute token buckets -------------------------------------------------------------------------------------


def take(settings: Settings, key: str, per_minute: int, cost: int = 1) -> bool:
    """Take `cost` tokens from the bucket `key` (capacity `per_minute`, refilled at `per_minute` per 60 s)."""
    return take_decision(settings, key, per_minute, cost).allowed


def take_decision(settings: Settings, key: str, per_minute: int, cost: int = 1) -> Decision:
    """`take()` with what an HTTP answer needs: tokens remaining and, when refused, seconds until `cost` fits."""
    _check(per_minute, cost)
    if settings.redis_url:
        return _redis_bucket(settings.redis_url, key, per_minute, cost, consume=True)
    return _LOCAL_BUCKETS.take(key, per_minute, cost, consume=True)


def retry_after(settings: Settings, key: str, per_minute: int, cost: int = 1) -> float | None:
    """Seconds until `cost` tokens are in the bucket (0: now), without taking any; None if `cost` > `per_minute`."""
    _check(per_minute, cost)
    if settings.redis_url:
        return _redis_bucket(settings.redis_url, key, per_minute, cost, consume=False).retry_after_s
    return _LOCAL_BUCKETS.take(key, per_minute, cost, consume=False).retry_after_s


# --- per-day counters -----------------------------------------------------------------------------------------------


def take_daily(settings: Settings, key: str, limit: int, cost: int) -> bool:
    """Count `cost` (e.g. rows) against today's (UTC) `limit` for `key`; refused, nothing is counted."""
    return take_daily_decision(settings, key, limit, cost).allowed


def take_daily_decision(settings: Settings, key: str, limit: int, cost: int) -> Decision:
    _check(limit, cost)
    now = datetime.now(UTC)
    if settings.redis_url:
        return _redis_daily(settings.redis_url, key, limit, cost, now)
    return _LOCAL_DAYS.take(key, limit, cost, now)


def used_today(settings: Settings, key: str) -> int:
    """What `key` has counted today (UTC)."""
    now = datetime.now(UTC)
    if settings.redis_url:
        value = _call_redis(settings.redis_url, lambda client, *_: client.get(_daily_key(key, now)))
        return int(value or 0)
    return _LOCAL_DAYS.used(key, now)


def seconds_to_utc_midnight(now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (midnight - now).total_seconds()


def _check(limit: int, cost: int) -> None:
    if limit < 1:
        raise ValueError(f"a quota limit must be at least 1, not {limit}")
    if cost < 0:
        raise ValueError(f"a quota cost cannot be negative ({cost})")


def _daily_key(key: str, now: datetime) -> str:
    return f"{KEY_PREFIX}day:{key}:{now.date().isoformat()}"


# --- in-process state -----------------------------------------------------------------------------------------------


class _LocalBuckets:
    """Token buckets of this process (monotonic clock). Full buckets are dropped now and then: they carry no state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float, int]] = {}  # key -> (tokens, at, capacity)
        self._calls = 0

    def take(self, key: str, per_minute: int, cost: int, *, consume: bool) -> Decision:
        rate = per_minute / 60.0
        with self._lock:
            now = time.monotonic()
            tokens, at, _ = self._state.get(key, (float(per_minute), now, per_minute))
            tokens = min(float(per_minute), tokens + max(0.0, now - at) * rate)
            decision = _bucket_decision(tokens, per_minute, rate, cost)
            if consume:
                self._state[key] = (decision.remaining, now, per_minute)
                self._calls += 1
                if self._calls % 10_000 == 0:
                    self._drop_full(now)
            return decision

    def _drop_full(self, now: float) -> None:
        full = [key for key, (tokens, at, cap) in self._state.items() if tokens + (now - at) * cap / 60.0 >= cap]
        for key in full:
            del self._state[key]


def _bucket_decision(tokens: float, capacity: int, rate: float, cost: int) -> Decision:
    if cost <= tokens:
        return Decision(True, tokens - cost, 0.0)
    if cost > capacity:
        return Decision(False, tokens, None)
    return Decision(False, tokens, (cost - tokens) / rate)


class _LocalDays:
    """Per-day counters of this process; yesterday's are dropped on the first call of a new day."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._day = ""

    def take(self, key: str, limit: int, cost: int, now: datetime) -> Decision:
        day = now.date().isoformat()
        with self._lock:
            if day != self._day:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == day}
                self._day = day
            used = self._counts.get((key, day), 0)
            if used + cost > limit:
                wait = None if cost > limit else seconds_to_utc_midnight(now)
                return Decision(False, limit - used, wait)
            self._counts[(key, day)] = used + cost
            return Decision(True, limit - used - cost, 0.0)

    def used(self, key: str, now: datetime) -> int:
        with self._lock:
            return self._counts.get((key, now.date().isoformat()), 0)


_LOCAL_BUCKETS = _LocalBuckets()
_LOCAL_DAYS = _LocalDays()


# --- Redis ----------------------------------------------------------------------------------------------------------

# KEYS[1] bucket; ARGV: capacity, refill per second, cost, consume (1/0). Returns {allowed, remaining, retry_after}
# as strings (Redis truncates Lua numbers to integers). A cost above capacity gives retry_after -1 (never).
_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if cost <= tokens then
  tokens = tokens - cost
  allowed = 1
elseif cost > capacity then
  wait = -1
else
  wait = (cost - tokens) / rate
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
end
return {tostring(allowed), string.format('%.17g', tokens), string.format('%.17g', wait)}
"""

# KEYS[1] day counter; ARGV: limit, cost, expire-at (unix seconds, next UTC midnight). Returns {allowed, used}.
_DAILY_LUA = """
local limit = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + cost > limit then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIREAT', KEYS[1], tonumber(ARGV[3]))
return {1, used}
"""


@functools.lru_cache(maxsize=8)
def _redis(url: str):
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    return client, client.register_script(_BUCKET_LUA), client.register_script(_DAILY_LUA)


def _call_redis(url: str, call):
    """`call(client, bucket_script, daily_script)`, with a Redis failure as QuotaUnavailable."""
    import redis

    try:
        return call(*_redis(url))
    except redis.RedisError as error:
        raise QuotaUnavailable(f"the quota store at {_redacted(url)} did not answer: {error}") from error


def _redacted(url: str) -> str:
    """The URL without a password (it goes into error messages)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _redis_bucket(url: str, key: str, per_minute: int, cost: int, *, consume: bool) -> Decision:
    args = [per_minute, per_minute / 60.0, cost, 1 if consume else 0]
    allowed, remaining, wait = _call_redis(
        url, lambda _, bucket_script, __: bucket_script(keys=[f"{KEY_PREFIX}bucket:{key}"], args=args)
    )
    wait_s = float(wait)
    return Decision(allowed == b"1", float(remaining), None if wait_s < 0 else wait_s)


def _redis_daily(url: str, key: str, limit: int, cost: int, now: datetime) -> Decision:
    expire_at = math.ceil(now.timestamp() + seconds_to_utc_midnight(now))
    allowed, used = _call_redis(
        url, lambda _, __, daily_script: daily_script(keys=[_daily_key(key, now)], args=[limit, cost, expire_at])
    )
    if allowed:
        return Decision(True, limit - int(used), 0.0)
    return Decision(False, limit - int(used), None if cost > limit else seconds_to_utc_midnight(now))
