"""One incident per rule and group, not per row; silences, acknowledge/resolve (by CLI and by signed link),
repeats, escalation; messages by email through a real SMTP server and signed webhooks to a real receiver, both on
127.0.0.1. The anomalies are rows of ml.anomalies in a published snapshot built here (two orgs)."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
from standardwebhooks.webhooks import Webhook

from aioa.identity import clock
from aioa.rules import incidents
from aioa.rules.engine import evaluate_all
from aioa.rules.store import save_rule
from aioa.settings import Settings
from aioa.webhooks.endpoints import add_endpoint, new_secret
from tests.rules.sample_snapshot import anomaly, write_snapshot
from tests.rules.smtp import SmtpServer
from tests.webhooks.receiver import Receiver


@pytest.fixture
def world(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("AIOA_HOME", str(home))
    with SmtpServer() as smtp, Receiver() as receiver:
        settings = Settings(
            home=home,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=False,
            smtp_from="aioa@acme.example",
            app_url="http://app.acme.example",
            webhook_backoff_s=0.05,
            webhook_max_attempts=2,
        )
        rows = [anomaly("acme", index) for index in range(500)] + [anomaly("globex", index) for index in range(3)]
        write_snapshot(settings, rows)
        secret = new_secret()
        add_endpoint(
            settings, org_id="acme", url=receiver.url, secret=secret, events=["incident.opened", "incident.resolved"]
        )
        yield settings, smtp.inbox, receiver, secret, rows


def runaway_rule(**notify) -> dict:
    return {
        "name": "runaway-agent",
        "severity": "critical",
        "trigger": {"kind": "anomaly_detected", "anomaly_kinds": ["runaway_agent"]},
        "condition": "ratio >= 3.0",
        "notify": notify,
        "actions": [{"type": "notify", "email": ["ops@acme.example"], "escalate_to": ["oncall@acme.example"]}],
    }


def later(monkeypatch, minutes: int) -> None:
    moved = clock.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(clock, "now", lambda: moved)


def test_five_hundred_matching_rows_make_one_incident_one_email_and_one_webhook(world):
    settings, inbox, receiver, secret, _ = world
    rule = runaway_rule()
    rule["actions"].append({"type": "webhook", "url": receiver.url})
    save_rule(settings, "acme", rule)
    (result,) = evaluate_all(settings, "acme")
    assert result.error is None and result.fired and result.matches == 500
    (incident,) = incidents.list_incidents(settings, "acme")
    assert incident.id in result.incident_ids and incident.matches == 500  # globex's 3 rows are not acme's
    assert len(inbox.messages) == 1 and inbox.recipients == [["ops@acme.example"]]
    message = inbox.messages[0]
    assert message["Subject"].strip().startswith("[critical] runaway-agent: runaway agent in calls")
    body = message.get_content()
    assert "500 matching rows" in body
    assert "How big: 900.00 observed vs 100.00 expected (9.0x)" in body
    assert "Drivers: project billing (90%), model claude-opus-4-6 (80%), user bob (95%)" in body
    assert "Recommended action:" in body and "pause its API key" in body
    assert "http://app.acme.example/anomalies?start=2026-11-12&end=2026-11-18&orgs=acme" in body
    assert "label_kind" not in json.dumps(incident.summary)
    (request,) = receiver.requests
    payload = Webhook(secret).verify(request[1], request[0])
    assert payload["type"] == "incident.opened" and payload["data"]["matches"] == 500

    again = evaluate_all(settings, "acme")
    assert not again[0].fired and len(inbox.messages) == 1 and len(receiver.requests) == 1  # same rows: silence


def test_new_rows_join_the_open_incident_and_resolve_stops_repeats(world, monkeypatch):
    settings, inbox, receiver, _, rows = world
    save_rule(settings, "acme", runaway_rule(repeat_every="1h"))
    evaluate_all(settings, "acme")
    write_snapshot(settings, rows + [anomaly("acme", 600 + index) for index in range(10)])
    evaluate_all(settings, "acme")
    (incident,) = incidents.list_incidents(settings, "acme")
    assert incident.matches == 510 and len(inbox.messages) == 1

    later(monkeypatch, 61)
    evaluate_all(settings, "acme")
    assert len(inbox.messages) == 2 and inbox.messages[1]["Subject"].strip().startswith("Still open: ")

    body = inbox.messages[1].get_content()
    link = next(line for line in body.splitlines() if line.startswith("Resolve: "))
    token = link.split("token=", 1)[1]
    with pytest.raises(jwt.InvalidTokenError):
        incidents.act_by_token(settings, token[:-3] + "abc")
    assert incidents.act_by_token(settings, token).status == "resolved"

    later(monkeypatch, 180)
    for _ in range(2):
        evaluate_all(settings, "acme")
    assert len(inbox.messages) == 2  # resolved: no repeat, and its rows never open another incident
    assert [row.status for row in incidents.list_incidents(settings, "acme")] == ["resolved"]
    resolved = [json.loads(body) for _, body, _ in receiver.requests if "incident.resolved" in body]
    assert [event["data"]["id"] for event in resolved] == [incident.id]


def test_a_silence_suppresses_the_message_but_keeps_the_incident(world):
    settings, inbox, receiver, _, _ = world
    save_rule(settings, "acme", runaway_rule())
    incidents.add_silence(settings, "acme", duration=timedelta(hours=2), rule_name="runaway-agent", reason="deploy")
    (result,) = evaluate_all(settings, "acme")
    assert result.matches == 500 and result.fired and result.actions == []  # it fired; nothing was sent
    (incident,) = incidents.list_incidents(settings, "acme")
    assert incident.matches == 500 and incident.notified_at is None
    assert inbox.messages == []
    assert [(row.reason, row.status) for row in incidents.notifications(settings, "acme")] == [("opened", "silenced")]


def test_a_silence_for_another_group_does_not_apply(world):
    settings, inbox, _, _, _ = world
    save_rule(settings, "acme", runaway_rule())
    incidents.add_silence(settings, "acme", duration=timedelta(hours=2), matchers={"kind": "cost_spike"})
    evaluate_all(settings, "acme")
    assert len(inbox.messages) == 1


def test_escalation_after_the_delay_unless_acknowledged(world, monkeypatch):
    settings, inbox, _, _, _ = world
    save_rule(settings, "acme", runaway_rule(escalate_after="30m"))
    evaluate_all(settings, "acme")
    later(monkeypatch, 10)
    evaluate_all(settings, "acme")
    assert len(inbox.messages) == 1
    later(monkeypatch, 31)
    evaluate_all(settings, "acme")
    assert len(inbox.messages) == 2 and inbox.recipients[1] == ["oncall@acme.example"]
    assert inbox.messages[1]["Subject"].strip().startswith("ESCALATED: ")
    later(monkeypatch, 120)
    evaluate_all(settings, "acme")
    assert len(inbox.messages) == 2  # escalated once


def test_acknowledged_incidents_do_not_escalate(world, monkeypatch):
    settings, inbox, _, _, _ = world
    save_rule(settings, "acme", runaway_rule(escalate_after="30m", repeat_every="10m"))
    (result,) = evaluate_all(settings, "acme")
    incidents.acknowledge(settings, "acme", result.incident_ids[0])
    with pytest.raises(LookupError):
        incidents.acknowledge(settings, "globex", result.incident_ids[0])  # another org cannot touch it
    later(monkeypatch, 60)
    evaluate_all(settings, "acme")
    assert len(inbox.messages) == 1


def test_the_cli_runs_the_rules_and_lists_incidents(world, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from aioa.cli import app

    settings, inbox, _, _, _ = world
    path = tmp_path / "rule.yaml"
    path.write_text(yaml.safe_dump(runaway_rule()))
    runner = CliRunner()
    assert runner.invoke(app, ["rules", "add", str(path), "--org", "acme"]).exit_code == 0
    ran = runner.invoke(
        app,
        ["rules", "run", "--json"],
        env={"AIOA_SMTP_HOST": "127.0.0.1", "AIOA_SMTP_PORT": str(settings.smtp_port), "AIOA_SMTP_STARTTLS": "false"},
    )
    assert ran.exit_code == 0, ran.output
    (entry,) = json.loads(ran.stdout)
    assert entry["fired"] and entry["rule"] == "runaway-agent" and len(entry["incident_ids"]) == 1
    listed = json.loads(runner.invoke(app, ["rules", "incidents", "--org", "acme", "--json"]).stdout)
    assert [item["id"] for item in listed] == entry["incident_ids"] and listed[0]["matches"] == 500
    assert len(inbox.messages) == 1


def test_the_signed_link_resolves_through_the_api_only_on_post(world):
    from apps.api.main import create_app
    from fastapi.testclient import TestClient

    from aioa.notify.links import action_link

    settings, _, _, _, _ = world
    save_rule(settings, "acme", runaway_rule())
    (result,) = evaluate_all(settings, "acme")
    incident_id = result.incident_ids[0]
    link = action_link(settings, incident_id, "acme", "resolve").removeprefix(settings.api_url)
    other = action_link(settings, incident_id, "acme", "acknowledge").removeprefix(settings.api_url)
    with TestClient(create_app(settings)) as client:
        page = client.get(link)
        assert page.status_code == 200 and "<form method='post'>" in page.text
        assert [row.status for row in incidents.list_incidents(settings, "acme")] == ["open"]  # GET changes nothing
        swapped = client.post(link.split("?")[0] + "?" + other.split("?")[1])  # an acknowledge token on resolve
        assert swapped.status_code == 403
        forged = client.post(link[:-4] + "AAAA")
        assert forged.status_code == 403
        done = client.post(link)
        assert done.status_code == 200 and done.json() == {"id": incident_id, "status": "resolved"}
