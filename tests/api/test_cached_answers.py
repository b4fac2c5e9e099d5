"""Cached answers (`apps.api.cache.cached_answer`) of `/v1/reports/{kind}` and `/v1/kpis`: each scope gets its own
answer from the same URL, before and after the cache holds them; `If-None-Match` with the answer's ETag gives 304
(another scope's ETag does not); gzip only when the client accepts it; a new snapshot is a new answer and a new ETag;
a cached answer is not computed again, and pages of one report share one computation."""

from __future__ import annotations

import pytest
from apps.api.main import create_app
from apps.api.routes import reports
from fastapi.testclient import TestClient

from aioa.analytics import Filters, queries
from aioa.identity.authn import authenticate
from aioa.identity.permissions import scope_for
from aioa.reports import usage_report
from aioa.warehouse.snapshots import open_snapshot
from tests.api.conftest import ORG, OTHER, publish_without_a_day


def _expected(api, who: str) -> tuple[list[dict], dict]:
    """The daily report and the KPIs of `who`'s scope, read from the snapshot without the API."""
    scope = scope_for(authenticate(api.settings, api.headers[who]["Authorization"]))
    connection, _ = open_snapshot(api.settings)
    with connection:
        return usage_report(connection, "daily", scope=scope), queries.kpis(connection, Filters(), scope)


def test_each_scope_gets_its_own_answer_from_the_same_url(api):
    people = ("admin", "other_admin", "viewer", "admin", "other_admin", "viewer")  # the second round is cached
    daily = [api.client.get("/v1/reports/daily", headers=api.headers[who]) for who in people]
    kpis = [api.client.get("/v1/kpis", headers=api.headers[who]) for who in people]
    for index, who in enumerate(people):
        report_rows, numbers = _expected(api, who)
        assert daily[index].status_code == 200 and daily[index].json() == report_rows
        assert kpis[index].status_code == 200
        assert kpis[index].json()["current"]["calls"] == pytest.approx(numbers["current"]["calls"])
        assert daily[index].headers["etag"] == daily[index % 3].headers["etag"]
    assert daily[0].json() != daily[1].json()  # acme and globex: same URL, different answers
    assert daily[0].json() != daily[2].json()  # acme's admin and a viewer of one acme team
    assert kpis[0].json() != kpis[1].json()
    assert len({answer.headers["etag"] for answer in daily[:3]}) == 3
    for answer in daily:
        assert answer.headers["cache-control"] == "private, no-cache"
        assert "Authorization" in answer.headers["vary"]
    # authentication still runs on a cached answer
    assert api.client.get("/v1/reports/daily").status_code == 401
    forged = {"Authorization": api.headers["admin"]["Authorization"][:-4] + "AAAA"}
    assert api.client.get("/v1/reports/daily", headers=forged).status_code == 401


def test_if_none_match_gives_304_for_the_same_scope_only(api):
    first = api.client.get("/v1/reports/daily", headers=api.headers["admin"])
    etag = first.headers["etag"]
    same = api.client.get("/v1/reports/daily", headers=api.headers["admin"] | {"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    listed = api.client.get("/v1/reports/daily", headers=api.headers["key_read"] | {"If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304  # the org's read key has the admin's scope: the same answer
    other = api.client.get("/v1/reports/daily", headers=api.headers["other_admin"] | {"If-None-Match": etag})
    assert other.status_code == 200 and other.json() != first.json()
    stale = api.client.get("/v1/reports/daily", headers=api.headers["admin"] | {"If-None-Match": 'W/"0000"'})
    assert stale.status_code == 200 and stale.json() == first.json()


def test_gzip_only_when_the_client_accepts_it(api):
    def daily(encoding: str):
        return api.client.get("/v1/reports/daily", headers=api.headers["admin"] | {"Accept-Encoding": encoding})

    plain, zipped, refused = daily("identity"), daily("gzip, deflate"), daily("gzip;q=0, identity")
    assert "content-encoding" not in plain.headers and "content-encoding" not in refused.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert zipped.content == plain.content == refused.content  # httpx decoded the gzip body
    assert zipped.headers["etag"] == plain.headers["etag"]
    small = api.client.get("/v1/kpis", headers=api.headers["admin"] | {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # a few hundred bytes: not worth compressing
    local = TestClient(api.client.app, client=("127.0.0.1", 50000))
    on_this_host = local.get("/v1/reports/daily", headers=api.headers["admin"] | {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in on_this_host.headers  # loopback: no network to save
    assert on_this_host.content == plain.content


def test_a_new_snapshot_is_a_new_answer_and_hits_are_not_computed(operator_settings, monkeypatch):
    computed: list[str] = []

    def counting_report(reader, kind, **options):
        computed.append(kind)
        return usage_report(reader, kind, **options)

    monkeypatch.setattr(reports, "usage_report", counting_report)
    settings = operator_settings
    with TestClient(create_app(settings)) as client:
        before = client.get("/v1/reports/daily", params={"org": ORG})
        again = client.get("/v1/reports/daily", params={"org": ORG})
        other = client.get("/v1/reports/daily", params={"org": OTHER})
        assert len(computed) == 2  # acme once, globex once
        assert again.content == before.content and other.content != before.content
        pages = [client.get("/v1/reports/daily", params={"org": ORG, "limit": 5, "offset": start}) for start in (0, 5)]
        assert [page.json() for page in pages] == [before.json()[:5], before.json()[5:10]]
        assert len(computed) == 3  # both pages from one computed report
        first_day = before.json()[0]["date"]
        publish_without_a_day(settings, ORG, first_day)
        after = client.get("/v1/reports/daily", params={"org": ORG}, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        assert [row["date"] for row in after.json()] == [row["date"] for row in before.json()[1:]]
        assert len(computed) == 4
