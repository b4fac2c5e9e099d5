"""At-least-once delivery: each event for each endpoint is a delivery row, attempted until the receiver answers 2xx.

A failed attempt is retried after `webhook_backoff_s * 2**(attempt-1)`, times a random factor in [0.5, 1.5) (jitter:
receivers that fail together are not hit again together). After `webhook_max_attempts` the delivery is dead: it
stays in the dead-letter list until `replay()` sends it again. Every attempt is logged per endpoint. The message id
(`webhook-id`) is the delivery's id, the same on every retry, so a receiver can drop duplicates; enqueuing the same
idempotency key for the same endpoint twice gives the existing delivery.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from standardwebhooks.webhooks import Webhook

from aioa.identity import clock
from aioa.identity.store import session_scope
from aioa.rules.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from aioa.settings import Settings
from aioa.webhooks.endpoints import signing_secrets, subscribed
from aioa.webhooks.urls import check_url


@dataclass(frozen=True)
class DeliveryInfo:
    id: str
    endpoint_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None

    def to_dict(self) -> dict:
        return {**self.__dict__, "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None}


def enqueue(
    settings: Settings,
    *,
    org_id: str,
    event_type: str,
    data: dict,
    idempotency_key: str,
    endpoints: list[WebhookEndpoint] | None = None,
) -> list[str]:
    """One pending delivery per endpoint of the org subscribed to `event_type` (or the given ones); the ids."""
    targets = subscribed(settings, org_id, event_type) if endpoints is None else endpoints
    now = clock.now()
    ids = []
    for endpoint in targets:
        if endpoint.org_id != org_id:
            raise PermissionError("an event is delivered only to its own org's endpoints")
        delivery_id = "msg_" + secrets.token_hex(12)
        body = {"type": event_type, "timestamp": now.isoformat(), "data": data}
        try:
            with session_scope(settings) as session:
                session.add(
                    WebhookDelivery(
                        id=delivery_id,
                        endpoint_id=endpoint.id,
                        org_id=org_id,
                        event_type=event_type,
                        idempotency_key=idempotency_key,
                        payload=body,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        except IntegrityError:  # the same key for this endpoint: already queued or sent
            with session_scope(settings, write=False) as session:
                delivery_id = session.scalars(
                    select(WebhookDelivery.id).where(
                        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.idempotency_key == idempotency_key
                    )
                ).one()
        ids.append(delivery_id)
    return ids


def process_due(settings: Settings, *, org_id: str | None = None, wait_up_to_s: float = 0.0) -> list[DeliveryInfo]:
    """Attempt every pending delivery that is due; with `wait_up_to_s`, keep retrying in this process while the next
    retry falls within that time (the CLI and tests; Dagster's schedule calls it with 0 each tick)."""
    deadline = time.monotonic() + wait_up_to_s
    touched: dict[str, DeliveryInfo] = {}
    while True:
        for delivery_id in _due_ids(settings, org_id):
            info = attempt(settings, delivery_id)
            touched[info.id] = info
        next_due = _next_due(settings, org_id)
        if next_due is None:
            break
        wait = max(0.0, (next_due - clock.now()).total_seconds())
        if time.monotonic() + wait > deadline:
            break
        time.sleep(wait)
    return [delivery_info(settings, delivery_id) for delivery_id in touched]


def attempt(settings: Settings, delivery_id: str) -> DeliveryInfo:
    """One signed POST of the delivery; records the attempt and schedules the retry or dead-letters it."""
    with session_scope(settings, write=False) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    sent_at = clock.now()
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(delivery.id, sent_at, body) for secret in signing_secrets(endpoint)
        ),
        "idempotency-key": delivery.idempotency_key,
        "user-agent": "aioa-webhooks/1",
    }
    started = time.perf_counter()
    status_code, error = None, None
    try:
        check_url(endpoint.url)  # the rule may have been saved before a policy change
        response = httpx.post(endpoint.url, content=body, headers=headers, timeout=settings.webhook_timeout_s)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:200]}"
    except (httpx.HTTPError, ValueError) as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
    seconds = time.perf_counter() - started
    with session_scope(settings) as session:
        row = session.get(WebhookDelivery, delivery_id)
        row.attempts += 1
        row.last_status_code, row.last_error = status_code, error
        if error is None:
            row.status, row.delivered_at, row.next_attempt_at = "delivered", clock.now(), None
        elif row.attempts >= settings.webhook_max_attempts:
            row.status, row.next_attempt_at = "dead", None
        else:
            row.next_attempt_at = clock.now() + backoff(settings.webhook_backoff_s, row.attempts)
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                endpoint_id=row.endpoint_id,
                at=sent_at,
                status_code=status_code,
                error=error,
                seconds=seconds,
            )
        )
        return _info(row)


def backoff(base_s: float, attempts: int) -> timedelta:
    """Exponential backoff with jitter: base * 2**(attempts-1) * U[0.5, 1.5)."""
    return timedelta(seconds=base_s * 2 ** (attempts - 1) * (0.5 + random.random()))


def replay(settings: Settings, org_id: str, delivery_ids: list[str] | None = None) -> list[DeliveryInfo]:
    """Send dead deliveries of the org again (all, or the given ids): one new attempt each, now; a delivery that
    fails again goes back through the retries."""
    with session_scope(settings) as session:
        query = select(WebhookDelivery).where(WebhookDelivery.org_id == org_id, WebhookDelivery.status == "dead")
        if delivery_ids:
            query = query.where(WebhookDelivery.id.in_(delivery_ids))
        rows = list(session.scalars(query))
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
        ids = [row.id for row in rows]
    return [attempt(settings, delivery_id) for delivery_id in ids]


def dead_letters(settings: Settings, org_id: str) -> list[DeliveryInfo]:
    return deliveries(settings, org_id, status="dead")


def deliveries(settings: Settings, org_id: str, *, status: str | None = None) -> list[DeliveryInfo]:
    with session_scope(settings, write=False) as session:
        query = select(WebhookDelivery).where(WebhookDelivery.org_id == org_id)
        if status:
            query = query.where(WebhookDelivery.status == status)
        return [_info(row) for row in session.scalars(query.order_by(WebhookDelivery.created_at))]


def delivery_log(settings: Settings, org_id: str, endpoint_id: str) -> list[dict]:
    """Every attempt to one endpoint of the org, oldest first."""
    with session_scope(settings, write=False) as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.org_id != org_id:
            raise LookupError(f"no webhook endpoint {endpoint_id} in org {org_id}")
        rows = session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id).order_by(WebhookAttempt.id)
        )
        return [
            {
                "delivery_id": row.delivery_id,
                "at": row.at.isoformat(),
                "status_code": row.status_code,
                "error": row.error,
                "seconds": round(row.seconds, 4),
            }
            for row in rows
        ]


def delivery_info(settings: Settings, delivery_id: str) -> DeliveryInfo:
    with session_scope(settings, write=False) as session:
        return _info(session.get(WebhookDelivery, delivery_id))


def _due_ids(settings: Settings, org_id: str | None) -> list[str]:
    with session_scope(settings, write=False) as session:
        query = select(WebhookDelivery.id).where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= clock.now()
        )
        if org_id is not None:
            query = query.where(WebhookDelivery.org_id == org_id)
        return list(session.scalars(query.order_by(WebhookDelivery.next_attempt_at)))


def _next_due(settings: Settings, org_id: str | None) -> datetime | None:
    with session_scope(settings, write=False) as session:
        query = select(WebhookDelivery.next_attempt_at).where(WebhookDelivery.status == "pending")
        if org_id is not None:
            query = query.where(WebhookDelivery.org_id == org_id)
        return session.scalars(query.order_by(WebhookDelivery.next_attempt_at).limit(1)).first()


def _info(row: WebhookDelivery) -> DeliveryInfo:
    return DeliveryInfo(
        row.id,
        row.endpoint_id,
        row.event_type,
        row.status,
        row.attempts,
        row.last_status_code,
        row.last_error,
        row.next_attempt_at,
    )
