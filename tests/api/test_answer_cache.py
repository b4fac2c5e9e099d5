"""The API's answer cache in Redis (127.0.0.1:6379): a miss computes and stores, a hit does not compute, a new
snapshot version or another warehouse is another key, and a Redis that does not answer costs a computation only."""

from __future__ import annotations

import secrets

import redis
from apps.api.cache import REDIS_PREFIX, EncodedAnswer, RedisAnswerCache, SnapshotCache, answer_cache

from aioa.settings import Settings

REDIS = "redis://127.0.0.1:6379/0"


def _counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_hits_skip_the_query_and_versions_and_warehouses_do_not_mix():
    namespace = f"test-{secrets.token_hex(4)}"
    version = f"v-{secrets.token_hex(4)}"
    cache, other_warehouse = RedisAnswerCache(REDIS, namespace), RedisAnswerCache(REDIS, namespace + "-other")
    answer = [{"date": "2026-11-20", "cost_usd": 1.25, "models": [{"model": "m", "calls": 3}]}]
    compute, calls = _counting(answer)
    try:
        assert cache.get_or_compute(version, ("/v1/reports/{kind}", "scope", "daily"), compute) == answer
        assert cache.get_or_compute(version, ("/v1/reports/{kind}", "scope", "daily"), compute) == answer
        assert len(calls) == 1
        cache.get_or_compute(version, ("/v1/reports/{kind}", "scope", "monthly"), compute)  # other parameters
        cache.get_or_compute(version + "-next", ("/v1/reports/{kind}", "scope", "daily"), compute)  # new snapshot
        other_warehouse.get_or_compute(version, ("/v1/reports/{kind}", "scope", "daily"), compute)
        assert len(calls) == 4
    finally:
        client = redis.Redis.from_url(REDIS)
        for pattern in (f"{REDIS_PREFIX}{version}:*", f"{REDIS_PREFIX}{version}-next:*"):
            keys = list(client.scan_iter(pattern))
            if keys:
                client.delete(*keys)


def test_an_unreachable_redis_costs_a_computation_not_an_error():
    cache = RedisAnswerCache("redis://127.0.0.1:1/0", "nowhere")
    compute, calls = _counting({"current": {"calls": 1.0}})
    assert cache.get_or_compute("v1", "key", compute) == {"current": {"calls": 1.0}}
    assert cache.get_or_compute("v1", "key", compute) == {"current": {"calls": 1.0}}
    assert len(calls) == 2


def test_redis_only_when_configured(tmp_path):
    assert isinstance(answer_cache(Settings(home=tmp_path, redis_url=None)), SnapshotCache)
    assert isinstance(answer_cache(Settings(home=tmp_path, redis_url=REDIS)), RedisAnswerCache)


def test_encoded_answers_round_trip_through_redis_per_scope():
    namespace, version = f"test-{secrets.token_hex(4)}", f"v-{secrets.token_hex(4)}"
    cache = RedisAnswerCache(REDIS, namespace)
    acme = EncodedAnswer.of(
        [{"date": "2026-11-20", "org": "acme", "cost_usd": 1.5}] * 100, rows=100, headers={"X-Total-Count": "100"}
    )
    globex = EncodedAnswer.of([{"org": "globex"}], rows=1)
    try:
        cache.put(version, ("/v1/reports/{kind}", "scope acme", "daily"), acme)
        cache.put(version, ("/v1/reports/{kind}", "scope globex", "daily"), globex)
        assert cache.get(version, ("/v1/reports/{kind}", "scope acme", "daily")) == acme
        assert cache.get(version, ("/v1/reports/{kind}", "scope globex", "daily")) == globex
        assert acme.gzipped is not None and globex.gzipped is None and acme.etag != globex.etag
        assert cache.get(version + "-next", ("/v1/reports/{kind}", "scope acme", "daily")) is None
    finally:
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(f"{REDIS_PREFIX}{version}:*"))
        if keys:
            client.delete(*keys)
    local = SnapshotCache()
    assert local.get(version, "k") is None
    local.put(version, "k", acme)
    assert local.get(version, "k") is acme and local.get(version + "-next", "k") is None
    local.put(version, "k", acme)  # an answer computed on the older version is not kept
    assert local.get(version + "-next", "k") is None
