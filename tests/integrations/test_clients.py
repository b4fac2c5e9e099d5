"""GitHub, Jira and Linear clients against a real local HTTP server: requests, auth headers, parsed answers, and a
retry after a 5xx (and none after a 4xx)."""

from __future__ import annotations

import pytest

from aioa.integrations.config import IntegrationSettings
from aioa.integrations.github import GitHub, repo_slug
from aioa.integrations.http import ApiClient, ApiError, RetryPolicy
from aioa.integrations.issues import issue_keys
from aioa.integrations.jira import Jira
from aioa.integrations.linear import Linear
from aioa.webhooks.urls import DisallowedUrl
from tests.integrations.fake_api import FakeApi

FAST = {"integration_backoff_s": 0.01, "integration_attempts": 3}


def test_github_pull_requests_retry_after_a_503():
    pulls = [
        {
            "number": 5,
            "title": "Login",
            "state": "closed",
            "merged_at": "2026-03-02T12:00:00Z",
            "head": {"ref": "feature/ABC-12-login"},
            "html_url": "https://github.com/acme/shop/pull/5",
        }
    ]
    with FakeApi({("GET", "/repos/acme/shop/pulls"): [(503, {"message": "busy"}), (200, pulls)]}) as api:
        github = GitHub(IntegrationSettings(github_api_url=api.url, github_token="ghp_test", **FAST))
        found = github.pull_requests("acme/shop", "feature/ABC-12-login")
        github.close()
        seen = api.calls("GET", "/repos/acme/shop/pulls")
    assert [(pr.number, pr.state, pr.head_branch) for pr in found] == [(5, "merged", "feature/ABC-12-login")]
    assert len(seen) == 2  # the 503, then the retry
    assert seen[-1].headers["authorization"] == "Bearer ghp_test"
    assert "head=acme%3Afeature%2FABC-12-login" in seen[-1].query and "state=all" in seen[-1].query


def test_github_creates_an_issue():
    reply = {"number": 42, "html_url": "https://github.com/acme/shop/issues/42"}
    with FakeApi({("POST", "/repos/acme/shop/issues"): [(201, reply)]}) as api:
        github = GitHub(IntegrationSettings(github_api_url=api.url, github_token="t", **FAST))
        created = github.create_issue("acme/shop", "Cost spike", "body", ["aioa"])
        github.close()
        body = api.calls("POST", "/repos/acme/shop/issues")[0].body
    assert created == {"key": "acme/shop#42", "url": "https://github.com/acme/shop/issues/42"}
    assert body == {"title": "Cost spike", "body": "body", "labels": ["aioa"]}


def test_jira_issue_retries_a_502_and_a_missing_issue_is_none():
    issue = {"key": "ABC-12", "fields": {"summary": "Login page", "status": {"name": "In Progress"}}}
    routes = {("GET", "/rest/api/3/issue/ABC-12"): [(502, {}), (200, issue)]}
    with FakeApi(routes) as api:
        jira = Jira(IntegrationSettings(jira_url=api.url, jira_email="bot@acme.test", jira_token="tok", **FAST))
        found = jira.issue("ABC-12")
        missing = jira.issue("NOPE-1")
        jira.close()
        seen = api.calls("GET", "/rest/api/3/issue/ABC-12")
    assert (found.title, found.status, found.url) == ("Login page", "In Progress", f"{api.url}/browse/ABC-12")
    assert missing is None
    assert len(seen) == 2 and seen[-1].headers["authorization"].startswith("Basic ")
    assert len(api.calls("GET", "/rest/api/3/issue/NOPE-1")) == 1  # a 404 is an answer, not retried


def test_linear_issue_and_create_over_graphql():
    issue = {
        "data": {
            "issue": {
                "identifier": "ENG-7",
                "title": "Crash",
                "url": "https://linear.app/x/ENG-7",
                "state": {"name": "Todo"},
            }
        }
    }
    created = {"data": {"issueCreate": {"success": True, "issue": {"identifier": "ENG-8", "url": "u8"}}}}
    with FakeApi({("POST", "/graphql"): [(500, {}), (200, issue), (200, created)]}) as api:
        linear = Linear(IntegrationSettings(linear_api_url=f"{api.url}/graphql", linear_token="lin_key", **FAST))
        found = linear.issue("ENG-7")
        made = linear.create_issue("team-1", "Cost spike", "body")
        linear.close()
        seen = api.calls("POST", "/graphql")
    assert (found.issue_key, found.title, found.status) == ("ENG-7", "Crash", "Todo")
    assert made == {"key": "ENG-8", "url": "u8"}
    assert len(seen) == 3 and seen[0].headers["authorization"] == "lin_key"
    assert seen[-1].body["variables"]["input"] == {"teamId": "team-1", "title": "Cost spike", "description": "body"}


def test_a_client_gives_up_after_its_attempts_and_never_retries_a_4xx():
    with FakeApi({("GET", "/down"): [(500, {})], ("GET", "/bad"): [(400, {"message": "bad field"})]}) as api:
        client = ApiClient(api.url, service="Test", retry=RetryPolicy(attempts=3, backoff_s=0.01))
        with pytest.raises(ApiError, match="answered 500") as failure:
            client.get("/down")
        assert failure.value.status_code == 500 and len(api.calls("GET", "/down")) == 3
        with pytest.raises(ApiError, match="bad field"):
            client.get("/bad")
        assert len(api.calls("GET", "/bad")) == 1
        client.close()


def test_a_server_that_is_not_there_fails_with_the_reason_and_plain_http_elsewhere_is_refused():
    with FakeApi() as api:
        url = api.url
    client = ApiClient(url, service="Test", timeout_s=1, retry=RetryPolicy(attempts=2, backoff_s=0.01))
    with pytest.raises(ApiError, match="ConnectError"):
        client.get("/x")
    client.close()
    with pytest.raises(DisallowedUrl):
        ApiClient("http://jira.example.com", service="Jira")


def test_issue_keys_and_repository_slugs():
    assert issue_keys("feature/ABC-12-login fixes XYZ-7 and ABC-12") == ["ABC-12", "XYZ-7"]
    assert repo_slug("git@github.com:acme/shop.git") == "acme/shop"
    assert repo_slug("https://github.com/acme/shop") == "acme/shop"
    assert repo_slug("https://gitlab.com/acme/shop.git") is None
