"""Scheduled reports on Celery: a schedule rule's `send_report` action is rendered and delivered by a real worker
process (email to a real SMTP server, a signed webhook to a real receiver, both on 127.0.0.1) and recorded in the
rule's evaluation exactly as an in-process delivery is. With the broker down, or no worker answering, the action is
recorded as failed with the reason, nothing is delivered then or later, and the next tick is delivered once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from aioa.identity import clock
from aioa.identity.store import session_scope
from aioa.rules.engine import evaluate_all
from aioa.rules.models import RuleEvaluation
from aioa.rules.store import save_rule
from aioa.webhooks.delivery import deliveries
from aioa.webhooks.endpoints import add_endpoint, new_secret
from tests.jobs.worker import BROKERS, celery_worker, new_queue
from tests.rules.smtp import SmtpServer
from tests.servers import free_port
from tests.webhooks.receiver import Receiver


def report_rule(url: str | None = None) -> dict:
    """A schedule rule whose action emails the report (and announces it to `url`, an endpoint of the org)."""
    action = {"type": "send_report", "template": "team-weekly", "format": "json", "email": ["leads@acme.example"]}
    return {
        "name": "weekly-report",
        "severity": "info",
        "trigger": {"kind": "schedule", "cron": "* * * * *"},  # this minute's tick is due now
        "group_by": ["tick"],
        "actions": [action | ({"url": url} if url else {})],
    }


def smtp_environment(port: int) -> dict[str, str]:
    """The SMTP server only the worker knows: the submitting process has none, so a report it sent itself fails."""
    return {
        "AIOA_SMTP_HOST": "127.0.0.1",
        "AIOA_SMTP_PORT": str(port),
        "AIOA_SMTP_STARTTLS": "false",
        "AIOA_SMTP_FROM": "reports@acme.example",
    }


def recorded_actions(settings) -> list[list[dict]]:
    """Each stored evaluation's actions, oldest first (what the Automations page shows)."""
    with session_scope(settings, write=False) as session:
        rows = session.scalars(select(RuleEvaluation).order_by(RuleEvaluation.id)).all()
        return [row.actions for row in rows]


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_a_scheduled_report_is_rendered_and_delivered_by_the_worker(broker, built_home, tmp_path):
    secret = new_secret()
    with SmtpServer() as smtp, Receiver() as receiver:
        environment = smtp_environment(smtp.port)
        with celery_worker(BROKERS[broker], built_home, tmp_path, **environment) as settings:
            assert settings.smtp_host is None  # this process could not email the report itself
            add_endpoint(settings, org_id="acme", url=receiver.url, secret=secret, events=["report.ready"])
            save_rule(settings, "acme", report_rule(receiver.url))
            (result,) = evaluate_all(settings, "acme")
        assert result.error is None and result.fired, result
        (action,) = result.actions
        assert action["status"] == "sent", action
        assert action["emailed_to"] == ["leads@acme.example"] and action["file_name"].startswith("team-weekly-")
        assert recorded_actions(settings) == [[action]]  # recorded as an in-process delivery is
        (message,) = smtp.inbox.messages
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == action["file_name"] and len(attachment.get_content()) == action["size"]
        (request,) = receiver.requests
        payload = Webhook(secret).verify(request[1], request[0])
    assert payload["type"] == "report.ready" and payload["data"]["org_id"] == "acme"
    assert payload["data"]["file_name"] == action["file_name"]
    (delivery,) = deliveries(settings, "acme")
    assert delivery.id == action["deliveries"][0] and delivery.status == "delivered" and delivery.attempts == 1


def test_with_the_broker_down_or_no_worker_the_action_fails_with_its_reason_and_nothing_is_sent_twice(
    built_home, tmp_path, monkeypatch
):
    secret = new_secret()
    queue = new_queue()
    started = clock.now()
    with SmtpServer() as smtp, Receiver() as receiver:
        environment = smtp_environment(smtp.port)
        with celery_worker(BROKERS["redis"], built_home, tmp_path, queue=queue, **environment) as settings:
            pass  # only its settings: the worker is stopped before the rule runs
        add_endpoint(settings, org_id="acme", url=receiver.url, secret=secret, events=["report.ready"])
        save_rule(settings, "acme", report_rule(receiver.url))

        def evaluate(minute: int, **changes):
            monkeypatch.setattr(clock, "now", lambda: started + timedelta(minutes=minute))
            (result,) = evaluate_all(settings.model_copy(update=changes), "acme")
            assert result.error is None and result.fired, result
            (action,) = result.actions
            return action

        # 1. the broker is down (nothing listens on its port): not sent, failed at once with the reason
        down = f"redis://127.0.0.1:{free_port()}/3"
        seconds = time.perf_counter()
        action = evaluate(0, celery_broker_url=down)
        assert time.perf_counter() - seconds < 30
        assert action["status"] == "failed"
        assert f"the Celery broker {down} is unreachable, job 'render_report' was not sent" in action["error"]

        # 2. the broker is up but no worker reads the queue: failed after the timeout; the message expires unrun
        action = evaluate(1, celery_timeout_s=3)
        assert action["status"] == "failed"
        assert action["error"] == f"no Celery worker on queue '{queue}' finished job 'render_report' within 3 s"

        # 3. a worker comes back on that queue: it drops the expired job; the next tick is delivered, once
        with celery_worker(BROKERS["redis"], built_home, tmp_path, queue=queue, **environment):
            delivered = evaluate(2)
            time.sleep(2)  # time for a stray copy of an earlier job to arrive, if there were one
        assert delivered["status"] == "sent", delivered
        assert len(smtp.inbox.messages) == 1 and len(receiver.requests) == 1
    assert [delivery.id for delivery in deliveries(settings, "acme")] == delivered["deliveries"]
    recorded = recorded_actions(settings)
    assert [[action["status"] for action in actions] for actions in recorded] == [["failed"], ["failed"], ["sent"]]
    assert "is unreachable" in recorded[0][0]["error"] and "within 3 s" in recorded[1][0]["error"]
