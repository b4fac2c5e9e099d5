"""Quotas against the real Redis on 127.0.0.1:6379 and in process: exact grants, refill, retry-after, daily limits
with expiry at UTC midnight, and threads that never get more than the bucket holds."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis

from aioa.settings import Settings
from aioa.tenants import quotas

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["in_process", "redis"])
def backend(request, tmp_path) -> tuple[Settings, str]:
    """Settings for one backend and a key prefix no other test uses; the test's Redis keys are deleted after it."""
    prefix = f"test-{uuid.uuid4().hex}"
    if request.param == "in_process":
        yield Settings(home=tmp_path, redis_url=None), prefix
        return
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield Settings(home=tmp_path, redis_url=REDIS_URL), prefix
    for key in client.scan_iter(match=f"{quotas.KEY_PREFIX}*{prefix}*"):
        client.delete(key)


def test_a_full_bucket_grants_exactly_its_capacity(backend):
    settings, prefix = backend
    key = f"{prefix}:key"
    granted = [quotas.take(settings, key, per_minute=5) for _ in range(7)]
    assert granted == [True] * 5 + [False] * 2
    # one token refills every 12 s at 5 per minute: the next one is ~12 s away
    assert 11.0 < quotas.retry_after(settings, key, per_minute=5) <= 12.0


def test_cost_takes_that_many_tokens_or_none(backend):
    settings, prefix = backend
    key = f"{prefix}:cost"
    assert quotas.take(settings, key, per_minute=10, cost=7)
    assert not quotas.take(settings, key, per_minute=10, cost=4)  # 3 left: refused, nothing taken
    assert quotas.take(settings, key, per_minute=10, cost=3)
    decision = quotas.take_decision(settings, key, per_minute=10, cost=1)
    assert not decision.allowed and decision.remaining < 0.1


def test_a_cost_above_capacity_is_never_granted(backend):
    settings, prefix = backend
    decision = quotas.take_decision(settings, f"{prefix}:big", per_minute=10, cost=11)
    assert not decision.allowed and decision.retry_after_s is None
    assert quotas.retry_after(settings, f"{prefix}:big", per_minute=10, cost=11) is None
    assert quotas.take(settings, f"{prefix}:big", per_minute=10, cost=10)  # the refusal took nothing


def test_the_bucket_refills_at_per_minute_over_sixty_seconds(backend):
    settings, prefix = backend
    key = f"{prefix}:refill"
    assert all(quotas.take(settings, key, per_minute=60) for _ in range(60))
    assert not quotas.take(settings, key, per_minute=60)
    time.sleep(1.1)  # 60 per minute: one token a second
    assert quotas.take(settings, key, per_minute=60)
    assert not quotas.take(settings, key, per_minute=60)


def test_retry_after_takes_nothing(backend):
    settings, prefix = backend
    key = f"{prefix}:peek"
    for _ in range(5):
        assert quotas.retry_after(settings, key, per_minute=3) == 0.0
    assert [quotas.take(settings, key, per_minute=3) for _ in range(4)] == [True, True, True, False]


def test_keys_are_separate_buckets(backend):
    settings, prefix = backend
    assert quotas.take(settings, f"{prefix}:a", per_minute=1)
    assert not quotas.take(settings, f"{prefix}:a", per_minute=1)
    assert quotas.take(settings, f"{prefix}:b", per_minute=1)


def test_threads_never_get_more_than_the_bucket_holds(backend):
    settings, prefix = backend
    key = f"{prefix}:race"
    per_minute, threads, attempts = 100, 16, 40
    granted = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker():
        start.wait()
        mine = sum(quotas.take(settings, key, per_minute) for _ in range(attempts))
        with lock:
            granted.append(mine)

    began = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - began
    # 640 attempts on a bucket of 100: all 100 are granted, plus at most what refilled while the threads ran
    assert 100 <= sum(granted) <= 100 + int(elapsed * per_minute / 60) + 1


def test_daily_quota_counts_rows_and_refuses_what_does_not_fit(backend):
    settings, prefix = backend
    key = f"{prefix}:rows"
    assert quotas.take_daily(settings, key, limit=1000, cost=600)
    assert not quotas.take_daily(settings, key, limit=1000, cost=500)  # would make 1,100: refused, not counted
    assert quotas.take_daily(settings, key, limit=1000, cost=400)
    assert quotas.used_today(settings, key) == 1000
    refused = quotas.take_daily_decision(settings, key, limit=1000, cost=1)
    assert not refused.allowed and refused.remaining == 0
    assert abs(refused.retry_after_s - quotas.seconds_to_utc_midnight()) < 2
    assert quotas.take_daily_decision(settings, f"{prefix}:other", limit=10, cost=11).retry_after_s is None


def test_threads_never_count_more_rows_than_the_daily_limit(backend):
    settings, prefix = backend
    key = f"{prefix}:rows-race"
    granted = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def worker():
        start.wait()
        mine = sum(7 for _ in range(50) if quotas.take_daily(settings, key, limit=1000, cost=7))
        with lock:
            granted.append(mine)

    workers = [threading.Thread(target=worker) for _ in range(20)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    # 142 batches of 7 fit in 1,000 (994); a 143rd would make 1,001
    assert sum(granted) == 994 == quotas.used_today(settings, key)


def test_redis_keys_expire(tmp_path):
    settings = Settings(home=tmp_path, redis_url=REDIS_URL)
    prefix = f"test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        quotas.take(settings, f"{prefix}:ttl", per_minute=120)
        bucket_ttl_ms = client.pttl(f"{quotas.KEY_PREFIX}bucket:{prefix}:ttl")
        assert 59_000 < bucket_ttl_ms <= 61_000  # a full refill (60 s) plus a second
        quotas.take_daily(settings, f"{prefix}:day", limit=10, cost=1)
        now = datetime.now(UTC)
        day_key = f"{quotas.KEY_PREFIX}day:{prefix}:day:{now.date().isoformat()}"
        assert abs(client.ttl(day_key) - quotas.seconds_to_utc_midnight(now)) <= 2  # expires at UTC midnight
    finally:
        for key in client.scan_iter(match=f"{quotas.KEY_PREFIX}*{prefix}*"):
            client.delete(key)


def test_an_unreachable_redis_is_an_error_not_an_unlimited_quota(tmp_path):
    settings = Settings(home=tmp_path, redis_url="redis://:secret@127.0.0.1:1/0")
    with pytest.raises(quotas.QuotaUnavailable) as error:
        quotas.take(settings, "anything", per_minute=10)
    assert "127.0.0.1:1" in str(error.value) and "secret" not in str(error.value)


def test_limits_must_be_positive(tmp_path):
    settings = Settings(home=tmp_path)
    with pytest.raises(ValueError, match="at least 1"):
        quotas.take(settings, "k", per_minute=0)
    with pytest.raises(ValueError, match="negative"):
        quotas.take_daily(settings, "k", limit=5, cost=-1)
