"""Chat bots: Slack's `/aioa` slash command and a Microsoft Teams outgoing webhook. Each request's signature is
verified first (Slack: the signing secret, within 5 minutes; Teams: HMAC-SHA256 of the body with the webhook's
token); the sender's linked account then decides the org, team and role the answer is for (aioa.integrations)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from urllib.parse import parse_qs

from apps.api.deps import SettingsDep, note
from apps.api.reader import snapshot_connection
from fastapi import APIRouter, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from aioa.identity.principal import Principal
from aioa.integrations.chat_links import NotLinked, principal_for_chat
from aioa.integrations.chatbot import answer
from aioa.integrations.config import IntegrationSettings
from aioa.settings import Settings
from aioa.warehouse.connection import TimedReader
from aioa.warehouse.snapshots import NoSnapshotError

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])


@router.post("/slack/commands", summary="Slack slash command /aioa (signed by Slack)")
async def slack_command(request: Request, settings: SettingsDep) -> dict:
    from slack_sdk.signature import SignatureVerifier

    secret = IntegrationSettings().slack_signing_secret
    if secret is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Slack bot is not configured (AIOA_SLACK_SIGNING_SECRET)")
    body = await request.body()
    verifier = SignatureVerifier(secret.get_secret_value())
    if not verifier.is_valid(
        body, request.headers.get("x-slack-request-timestamp"), request.headers.get("x-slack-signature")
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid Slack signature")
    form = {name: values[0] for name, values in parse_qs(body.decode(), keep_blank_values=True).items()}
    text = await _reply(
        request, settings, "slack", form.get("team_id", ""), form.get("user_id", ""), form.get("text", "")
    )
    return {"response_type": "ephemeral", "text": text}


@router.post("/teams/messages", summary="Microsoft Teams outgoing webhook (HMAC signed)")
async def teams_message(request: Request, settings: SettingsDep) -> dict:
    secret = IntegrationSettings().teams_webhook_secret
    if secret is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Teams bot is not configured (AIOA_TEAMS_WEBHOOK_SECRET)")
    body = await request.body()
    if not _teams_signature_valid(secret.get_secret_value(), body, request.headers.get("authorization")):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid Teams HMAC signature")
    try:
        activity = json.loads(body)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not JSON") from None
    sender = activity.get("from") or {}
    tenant = ((activity.get("channelData") or {}).get("tenant") or {}).get("id", "")
    text = _without_mention(activity.get("text") or "")
    reply = await _reply(request, settings, "teams", tenant, sender.get("aadObjectId") or sender.get("id", ""), text)
    return {"type": "message", "text": reply}


def _teams_signature_valid(secret_b64: str, body: bytes, authorization: str | None) -> bool:
    scheme, _, signature = (authorization or "").partition(" ")
    if scheme != "HMAC" or not signature:
        return False
    try:
        key = base64.b64decode(secret_b64)
    except (binascii.Error, ValueError):
        return False
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


def _without_mention(text: str) -> str:
    """Teams puts `<at>bot name</at>` before the words; `aioa` itself may follow, as in Slack's `/aioa`."""
    if "</at>" in text:
        text = text.split("</at>", 1)[1]
    words = text.strip()
    return words[len("aioa") :].strip() if words.lower().startswith("aioa") else words


async def _reply(request: Request, settings: Settings, provider: str, workspace: str, user: str, text: str) -> str:
    try:
        principal = principal_for_chat(settings, provider, workspace, user)
    except NotLinked as error:
        return str(error)
    request.state.principal = principal  # the audit entry names the linked account
    note(request, provider=provider, command=text[:200])
    return await run_in_threadpool(_answer_from_snapshot, settings, principal, text)


def _answer_from_snapshot(settings: Settings, principal: Principal, text: str) -> str:
    try:
        connection, _version = snapshot_connection(settings)
    except NoSnapshotError:
        return "No data yet: the pipeline has not published a snapshot."
    cursor = connection.cursor()
    try:
        return answer(settings, principal, text, TimedReader(cursor, settings.reader_statement_timeout_s))
    finally:
        cursor.close()
