"""Reports that arrive by themselves: emailed to a real SMTP server (aiosmtpd on 127.0.0.1) with the PDF attached,
and sent by a scheduled rule (`send_report`) by email and as a signed `report.ready` webhook."""

from __future__ import annotations

import io

import openpyxl
import pytest
from standardwebhooks.webhooks import Webhook

from aioa.reports.render.deliver import send_report
from aioa.rules.engine import evaluate_all
from aioa.rules.store import save_rule
from aioa.settings import Settings
from aioa.webhooks.endpoints import add_endpoint, new_secret
from tests.reports.pdf import pdf_text_and_pages
from tests.rules.smtp import SmtpServer
from tests.webhooks.receiver import Receiver


@pytest.fixture
def mail(built_home, tmp_path, monkeypatch):
    """The built sample's snapshot (read only), an identity store of this test's own, a real SMTP server."""
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    database = f"sqlite:///{tmp_path / 'identity.db'}"
    monkeypatch.setenv("AIOA_DATABASE_URL", database)
    with SmtpServer() as smtp:
        settings = Settings(
            home=built_home,
            database_url=database,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=False,
            smtp_from="reports@acme.example",
        )
        yield settings, smtp.inbox


def test_the_report_is_emailed_with_the_pdf_attached_and_shows_only_its_org(mail):
    settings, inbox = mail
    sent = send_report(settings, "acme", "executive-monthly", email=["cfo@acme.example"])
    assert inbox.recipients == [["cfo@acme.example"]]
    (message,) = inbox.messages
    assert message["Subject"] == f"Executive summary: acme, {sent.start} to {sent.end}"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_filename() == sent.file_name
    content = attachment.get_content()
    assert len(content) == sent.size
    text, pages = pdf_text_and_pages(content)
    assert pages >= 2 and f"Page 1 of {pages}" in text
    assert "Executive summary" in text and "acme" in text
    assert "globex" not in text and "initech" not in text  # the tenant's rows only


def test_a_scheduled_rule_sends_the_report_by_email_and_signed_webhook(mail):
    settings, inbox = mail
    secret = new_secret()
    with Receiver() as receiver:
        add_endpoint(settings, org_id="acme", url=receiver.url, secret=secret, events=["report.ready"])
        rule = {
            "name": "team-weekly-report",
            "severity": "info",
            "trigger": {"kind": "schedule", "cron": "* * * * *"},  # this minute's tick is due now
            "group_by": ["tick"],
            "actions": [
                {
                    "type": "send_report",
                    "template": "team-weekly",
                    "format": "xlsx",
                    "email": ["leads@acme.example"],
                    "url": receiver.url,
                }
            ],
        }
        save_rule(settings, "acme", rule)
        (result,) = evaluate_all(settings, "acme")
        assert result.error is None and result.fired, result
        (action,) = result.actions
        assert action["status"] == "sent" and action["file_name"].startswith("team-weekly-")
        (message,) = inbox.messages
        (attachment,) = list(message.iter_attachments())
        workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
        assert workbook.sheetnames[0] == "01_kpis"
        (request,) = receiver.requests
        payload = Webhook(secret).verify(request[1], request[0])
    assert payload["type"] == "report.ready" and payload["data"]["org_id"] == "acme"
    assert payload["data"]["report"]["template"] == "team-weekly"
    kpis = payload["data"]["report"]["sections"][0]["kpis"]
    assert workbook["01_kpis"]["D2"].value == pytest.approx(kpis[0]["value"])  # the same numbers both ways
