"""The rules action `open_issue`: 500 matching rows make one incident and exactly one issue in the tracker (a local
fake GitHub, Jira or Linear), opened again by no later evaluation; a tracker that fails is recorded as a failed
action without stopping the notification."""

from __future__ import annotations

import pytest

from aioa.rules import incidents
from aioa.rules.engine import evaluate_all
from aioa.rules.store import save_rule
from aioa.settings import Settings
from tests.integrations.fake_api import FakeApi
from tests.rules.sample_snapshot import anomaly, write_snapshot
from tests.rules.smtp import SmtpServer

TRACKERS = {
    "github": (
        {"tracker": "github", "repo": "acme/ops", "labels": ["aioa"]},
        ("POST", "/repos/acme/ops/issues"),
        {"number": 17, "html_url": "https://github.com/acme/ops/issues/17"},
        "acme/ops#17",
    ),
    "jira": ({"tracker": "jira", "project": "OPS"}, ("POST", "/rest/api/3/issue"), {"key": "OPS-4"}, "OPS-4"),
    "linear": (
        {"tracker": "linear", "team": "team-ops"},
        ("POST", "/graphql"),
        {"data": {"issueCreate": {"success": True, "issue": {"identifier": "OPS-9", "url": "u"}}}},
        "OPS-9",
    ),
}


@pytest.fixture
def world(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("AIOA_HOME", str(home))
    with SmtpServer() as smtp, FakeApi() as api:
        for name, value in {
            "AIOA_GITHUB_API_URL": api.url,
            "AIOA_GITHUB_TOKEN": "ghp_test",
            "AIOA_JIRA_URL": api.url,
            "AIOA_JIRA_EMAIL": "bot@acme.test",
            "AIOA_JIRA_TOKEN": "tok",
            "AIOA_LINEAR_TOKEN": "lin",
            "AIOA_LINEAR_API_URL": f"{api.url}/graphql",
            "AIOA_INTEGRATION_BACKOFF_S": "0.01",
        }.items():
            monkeypatch.setenv(name, value)
        settings = Settings(
            home=home, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False, smtp_from="aioa@acme.example"
        )
        write_snapshot(settings, [anomaly("acme", index) for index in range(500)])
        yield settings, api, smtp.inbox


def _rule(target: dict) -> dict:
    return {
        "name": "runaway-agent",
        "trigger": {"kind": "anomaly_detected", "anomaly_kinds": ["runaway_agent"]},
        "actions": [{"type": "notify", "email": ["ops@acme.example"]}, {"type": "open_issue", **target}],
    }


@pytest.mark.parametrize("tracker", sorted(TRACKERS))
def test_one_incident_opens_exactly_one_issue(world, tracker):
    settings, api, inbox = world
    target, route, reply, key = TRACKERS[tracker]
    api.routes[route] = [(503, {}), (201, reply)]  # the first try fails: retried, still one issue
    save_rule(settings, "acme", _rule(target))
    (result,) = evaluate_all(settings, "acme")
    for _ in range(2):
        evaluate_all(settings, "acme")  # the incident stays open: no second issue
    (incident,) = incidents.list_incidents(settings, "acme")
    opened = [action for action in result.actions if action.get("action") == "open_issue"]
    assert result.fired and incident.matches == 500
    assert opened == [
        {
            "incident": incident.id,
            "action": "open_issue",
            "tracker": tracker,
            "status": "opened",
            "key": key,
            "url": opened[0]["url"],
        }
    ]
    posted = api.calls(*route)
    assert len(posted) == 2 and posted[0].body == posted[1].body  # the 503, then the one issue
    text = str(posted[-1].body)
    assert "runaway-agent" in text and "500 matching rows" in text
    assert len(inbox.messages) == 1


def test_a_tracker_that_keeps_failing_is_a_failed_action_and_the_email_still_goes(world):
    settings, api, inbox = world
    api.routes[("POST", "/rest/api/3/issue")] = [(500, {"message": "down"})]
    save_rule(settings, "acme", _rule({"tracker": "jira", "project": "OPS"}))
    (result,) = evaluate_all(settings, "acme")
    (failed,) = [action for action in result.actions if action.get("action") == "open_issue"]
    assert failed["status"] == "failed" and "answered 500" in failed["error"]
    assert len(api.calls("POST", "/rest/api/3/issue")) == 4  # the configured attempts
    assert len(inbox.messages) == 1
