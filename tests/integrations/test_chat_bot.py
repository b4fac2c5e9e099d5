"""The Slack and Teams bots on the API over the built sample: a bad signature is refused (401) before anything is
read; a good one answers `/aioa ask` and `/aioa cost` with the linked account's org only (acme's admin never sees
globex's rows, and the other way round); an unlinked user and a role without the permission get a message, no data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from aioa.integrations.chat_links import link, list_links, unlink
from tests.api.conftest import copy_home, serving

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAMS_SECRET = base64.b64encode(b"teams-outgoing-webhook-token-32b").decode()
ORGS = ("acme", "globex", "initech")


@pytest.fixture(scope="module")
def bot(built_home, tmp_path_factory):
    environment = {"AIOA_SLACK_SIGNING_SECRET": SLACK_SECRET, "AIOA_TEAMS_WEBHOOK_SECRET": TEAMS_SECRET}
    with serving(copy_home(built_home, tmp_path_factory.mktemp("chat") / "home"), environment) as api:
        link(api.settings, "slack", "T1", "U-ACME", "admin@acme.test")
        link(api.settings, "slack", "T1", "U-VIEWER", "viewer@acme.test")
        link(api.settings, "slack", "T2", "U-GLOBEX", "other_admin@globex.test")
        link(api.settings, "teams", "tenant-1", "aad-acme", "admin@acme.test")
        yield api


def _slack(api, text: str, user: str, team: str, *, secret: str = SLACK_SECRET, age_s: int = 0):
    body = urlencode({"command": "/aioa", "text": text, "team_id": team, "user_id": user, "response_url": "x"})
    timestamp = str(int(time.time()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }
    return api.client.post("/v1/integrations/slack/commands", content=body, headers=headers)


def _orgs_named(text: str) -> set[str]:
    return {org for org in ORGS if org in text}


def test_a_bad_or_stale_slack_signature_is_refused(bot):
    assert _slack(bot, "cost by org", "U-ACME", "T1", secret="wrong-secret").status_code == 401
    assert _slack(bot, "cost by org", "U-ACME", "T1", age_s=600).status_code == 401  # replayed after 10 minutes
    unsigned = bot.client.post("/v1/integrations/slack/commands", content="text=cost", headers={})
    assert unsigned.status_code == 401


def test_a_signed_slack_command_answers_for_the_linked_accounts_org_only(bot):
    acme = _slack(bot, "cost by org", "U-ACME", "T1")
    globex = _slack(bot, "cost by org", "U-GLOBEX", "T2")
    assert acme.status_code == 200 and globex.status_code == 200
    assert acme.json()["response_type"] == "ephemeral"
    assert _orgs_named(acme.json()["text"]) == {"acme"}, acme.json()["text"]
    assert _orgs_named(globex.json()["text"]) == {"globex"}, globex.json()["text"]


def test_ask_goes_through_the_ask_engine_with_the_users_scope(bot):
    reply = _slack(bot, "ask spend by org last month", "U-ACME", "T1").json()["text"]
    assert _orgs_named(reply) <= {"acme"} and "$" in reply, reply


def test_unlinked_users_and_missing_permissions_get_a_message_not_data(bot):
    stranger = _slack(bot, "cost by org", "U-ACME", "T-OTHER-WORKSPACE").json()["text"]  # same user id, other team
    assert "not linked" in stranger and not _orgs_named(stranger)
    viewer_ask = _slack(bot, "ask spend by org", "U-VIEWER", "T1").json()["text"]
    assert "may not use `ask`" in viewer_ask
    assert "I know `ask` and `cost`" in _slack(bot, "delete everything", "U-ACME", "T1").json()["text"]


def test_teams_outgoing_webhook_is_hmac_verified(bot):
    activity = {
        "type": "message",
        "text": "<at>aioa</at> cost by org",
        "from": {"id": "29:1", "aadObjectId": "aad-acme"},
        "channelData": {"tenant": {"id": "tenant-1"}},
    }
    body = json.dumps(activity).encode()
    digest = hmac.new(base64.b64decode(TEAMS_SECRET), body, hashlib.sha256).digest()
    good = {"authorization": "HMAC " + base64.b64encode(digest).decode(), "content-type": "application/json"}
    answer = bot.client.post("/v1/integrations/teams/messages", content=body, headers=good)
    assert answer.status_code == 200 and answer.json()["type"] == "message"
    assert _orgs_named(answer.json()["text"]) == {"acme"}, answer.json()["text"]
    tampered = body.replace(b"cost by org", b"cost by day")
    assert bot.client.post("/v1/integrations/teams/messages", content=tampered, headers=good).status_code == 401


def test_links_can_be_listed_and_removed(bot):
    assert {(row["provider"], row["chat_user_id"]) for row in list_links(bot.settings)} >= {("slack", "U-ACME")}
    link(bot.settings, "slack", "T9", "U-TEMP", "user@acme.test")
    assert unlink(bot.settings, "slack", "T9", "U-TEMP") and not unlink(bot.settings, "slack", "T9", "U-TEMP")
