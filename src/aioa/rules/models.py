"""The rules engine's tables in the identity store: rules, their evaluations, incidents and what was sent for them,
silences, the requests rules made (router threshold, retraining), webhook endpoints and their deliveries.

Every row carries `org_id`: the tenant of the caller that saved the rule or endpoint, never a value read from the
rule file. Webhook secrets are stored as given (they sign, so they must be readable), like the token-signing keys:
protect the store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aioa.identity.models import Base, UTCDateTime
from aioa.identity.secret_box import EncryptedText


class RuleRow(Base):
    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_rules_org_id_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    document: Mapped[dict] = mapped_column(JSON)  # the validated rule (aioa.rules.spec.Rule)
    state: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. the last snapshot or cron tick seen
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(400))


class RuleEvaluation(Base):
    """One evaluation of one rule: what matched, whether it fired, the incidents it touched, or the error."""

    __tablename__ = "rule_evaluations"
    __table_args__ = (Index("ix_rule_evaluations_rule_id_at", "rule_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(40))  # cli, schedule, sensor, api
    matches: Mapped[int] = mapped_column(Integer)
    fired: Mapped[bool] = mapped_column(Boolean)
    incident_ids: Mapped[list] = mapped_column(JSON)
    actions: Mapped[list] = mapped_column(JSON)  # what each action did
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)


class Incident(Base):
    """Everything one rule found for one group key until it is resolved: one notification, not one per row."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_rule_id_group_key", "rule_id", "group_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    rule_id: Mapped[str] = mapped_column(String(32))
    rule_name: Mapped[str] = mapped_column(String(200))
    group_key: Mapped[str] = mapped_column(String(500))
    group: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # open, acknowledged, resolved
    severity: Mapped[str] = mapped_column(String(16))
    matches: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict] = mapped_column(JSON)  # the largest match's facts: what the message says
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(400))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(400))


class SeenEvent(Base):
    """A match already counted (its fingerprint, e.g. one anomaly or one day over a threshold): the same finding
    never opens a second incident, even after the first was resolved."""

    __tablename__ = "rule_seen_events"

    rule_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationRow(Base):
    """One message for an incident on one channel: sent, failed, or suppressed (silence, cool-down)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(32), index=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(16))  # opened, repeat, escalation
    channel: Mapped[str] = mapped_column(String(400))  # scheme and host only, never credentials
    status: Mapped[str] = mapped_column(String(16))  # sent, failed, silenced, cooldown
    error: Mapped[str | None] = mapped_column(Text)


class Silence(Base):
    __tablename__ = "silences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    rule_name: Mapped[str | None] = mapped_column(String(200))  # None: every rule of the org
    matchers: Mapped[dict] = mapped_column(JSON)  # group values that must all be equal (empty: any group)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(400))


class AutomationRequest(Base):
    """What a rule asked of another part of the product (set the router's threshold, retrain it); the Dagster
    rules domain picks retraining requests up."""

    __tablename__ = "automation_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    parameters: Mapped[dict] = mapped_column(JSON)
    rule_id: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending, done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(EncryptedText)  # whsec_…, sealed with AIOA_SECRET_KEYS when set
    previous_secret: Mapped[str | None] = mapped_column(EncryptedText)  # also signs until previous_secret_until
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    events: Mapped[list] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event for one endpoint, delivered at least once: retried with backoff, then dead-lettered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "idempotency_key", name="uq_webhook_deliveries_endpoint_id_idempotency_key"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header: same on every retry
    endpoint_id: Mapped[str] = mapped_column(String(32), index=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, dead
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(Base):
    """The delivery log: every attempt with its answer."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(40), index=True)
    endpoint_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)


RULES_TABLES = frozenset(
    {
        "rules",
        "rule_evaluations",
        "incidents",
        "rule_seen_events",
        "notifications",
        "silences",
        "automation_requests",
        "webhook_endpoints",
        "webhook_deliveries",
        "webhook_attempts",
    }
)
