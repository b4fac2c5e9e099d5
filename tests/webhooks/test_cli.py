"""`aioa webhooks add|list|test|replay` as scripts call them: a disallowed URL is refused with the reason, a test
event arrives signed at a real receiver, the listing counts it."""

from __future__ import annotations

import json

from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from aioa.cli import app
from aioa.webhooks.endpoints import new_secret
from tests.webhooks.receiver import Receiver


def test_webhooks_cli(settings):
    runner = CliRunner()
    secret = new_secret()
    refused = runner.invoke(
        app, ["webhooks", "add", "http://hooks.example.com/x", "--secret", secret, "--events", "incident.opened"]
    )
    assert refused.exit_code == 2 and "plain http is accepted only for loopback" in " ".join(refused.output.split())
    with Receiver() as receiver:
        added = runner.invoke(
            app,
            [
                "webhooks",
                "add",
                receiver.url,
                "--secret",
                secret,
                "--events",
                "incident.opened,incident.resolved",
                "--json",
            ],
        )
        assert added.exit_code == 0, added.output
        endpoint = json.loads(added.stdout)
        assert endpoint["org_id"] == settings.default_org and endpoint["events"] == [
            "incident.opened",
            "incident.resolved",
        ]
        sent = runner.invoke(app, ["webhooks", "test", endpoint["id"], "--json"])
        assert sent.exit_code == 0 and json.loads(sent.stdout)["status"] == "delivered"
        (request,) = receiver.requests
        assert Webhook(secret).verify(request[1], request[0])["type"] == "webhook.test"
        listed = json.loads(runner.invoke(app, ["webhooks", "list", "--json"]).stdout)
        assert [(row["id"], row["deliveries"]["delivered"]) for row in listed] == [(endpoint["id"], 1)]
        assert json.loads(runner.invoke(app, ["webhooks", "replay", "--json"]).stdout) == []
        other = runner.invoke(app, ["webhooks", "test", endpoint["id"], "--org", "globex"])
        assert other.exit_code == 2 and "no webhook endpoint" in " ".join(other.output.split())
