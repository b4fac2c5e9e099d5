"""Webhook endpoints per tenant: URL, `whsec_` secret (rotation keeps the old one signing for a while), events."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from aioa.identity import audit, clock
from aioa.identity.principal import Principal, local_operator
from aioa.identity.store import session_scope
from aioa.rules.models import WebhookEndpoint
from aioa.settings import Settings
from aioa.webhooks.urls import check_url

SECRET_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)  # receivers switch to the new secret within a day
TEST_EVENT = "webhook.test"


@dataclass(frozen=True)
class EndpointInfo:
    id: str
    org_id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    created_at: datetime
    rotating_until: datetime | None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "url": self.url,
            "events": list(self.events),
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
            "rotating_until": self.rotating_until.isoformat() if self.rotating_until else None,
        }


def check_secret(secret: str) -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of 24 to 64 random bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("the secret must start with whsec_ (e.g. from `aioa webhooks add --generate-secret`)")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise ValueError("the secret after whsec_ must be base64") from None
    if not 24 <= len(raw) <= 64:
        raise ValueError(f"the secret must hold 24 to 64 bytes after base64 decoding, not {len(raw)}")
    return secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_events(events: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    from aioa.rules.spec import EVENT_TYPES

    cleaned = tuple(dict.fromkeys(event.strip() for event in events if event.strip()))
    unknown = [event for event in cleaned if event not in EVENT_TYPES and event != "*"]
    if not cleaned or unknown:
        raise ValueError(
            f"events must be one or more of {', '.join(EVENT_TYPES)} (or *)"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    return cleaned


def add_endpoint(
    settings: Settings, *, org_id: str, url: str, secret: str, events: list[str], actor: Principal | None = None
) -> EndpointInfo:
    row = WebhookEndpoint(
        id="ep_" + secrets.token_hex(8),
        org_id=org_id,
        url=check_url(url),
        secret=check_secret(secret),
        events=list(check_events(events)),
        enabled=True,
        created_at=clock.now(),
    )
    with session_scope(settings) as session:
        session.add(row)
    audit.record(
        settings,
        actor=actor or local_operator(),
        action="webhook.add",
        org_id=org_id,
        target=row.id,
        detail={"url": row.url, "events": row.events},
    )
    return _info(row)


def list_endpoints(settings: Settings, org_id: str) -> list[EndpointInfo]:
    with session_scope(settings, write=False) as session:
        rows = session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id).order_by(WebhookEndpoint.created_at)
        )
        return [_info(row) for row in rows]


def endpoint_row(settings: Settings, org_id: str, endpoint_id: str) -> WebhookEndpoint:
    """The org's endpoint (LookupError for another org's id too: ids of other tenants are not revealed)."""
    with session_scope(settings, write=False) as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        if row is None or row.org_id != org_id:
            raise LookupError(f"no webhook endpoint {endpoint_id} in org {org_id} (see `aioa webhooks list`)")
        return row


def endpoint_by_url(settings: Settings, org_id: str, url: str) -> WebhookEndpoint | None:
    with session_scope(settings, write=False) as session:
        return session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id, WebhookEndpoint.url == url)
        ).first()


def subscribed(settings: Settings, org_id: str, event_type: str) -> list[WebhookEndpoint]:
    with session_scope(settings, write=False) as session:
        rows = session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id, WebhookEndpoint.enabled.is_(True))
        )
        return [row for row in rows if event_type in row.events or "*" in row.events]


def rotate_secret(settings: Settings, org_id: str, endpoint_id: str, secret: str) -> EndpointInfo:
    """Sign with `secret` from now on, and with the old secret too for ROTATION_OVERLAP."""
    check_secret(secret)
    with session_scope(settings) as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        if row is None or row.org_id != org_id:
            raise LookupError(f"no webhook endpoint {endpoint_id} in org {org_id}")
        row.previous_secret, row.secret = row.secret, secret
        row.previous_secret_until = clock.now() + ROTATION_OVERLAP
    audit.record(settings, actor=local_operator(), action="webhook.rotate", org_id=org_id, target=endpoint_id)
    return _info(row)


def signing_secrets(row: WebhookEndpoint) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one during a rotation."""
    keys = [row.secret]
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > clock.now():
        keys.append(row.previous_secret)
    return keys


def _info(row: WebhookEndpoint) -> EndpointInfo:
    rotating = (
        row.previous_secret_until if row.previous_secret_until and row.previous_secret_until > clock.now() else None
    )
    return EndpointInfo(row.id, row.org_id, row.url, tuple(row.events), row.enabled, row.created_at, rotating)
