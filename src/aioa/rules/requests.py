"""Requests rules made of other parts of the product (retrain the router, set its threshold): listed, and taken
once by whoever carries them out (the Dagster sensor for retraining)."""

from __future__ import annotations

from sqlalchemy import select

from aioa.identity import clock
from aioa.identity.store import session_scope
from aioa.rules.models import AutomationRequest
from aioa.settings import Settings


def take_pending(settings: Settings, kind: str) -> list[str]:
    """Mark every pending request of `kind` done and return their ids (one transaction: taken once)."""
    with session_scope(settings) as session:
        rows = list(
            session.scalars(
                select(AutomationRequest).where(AutomationRequest.kind == kind, AutomationRequest.status == "pending")
            )
        )
        for row in rows:
            row.status, row.done_at = "done", clock.now()
        return [row.id for row in rows]


def pending(settings: Settings, org_id: str | None = None) -> list[dict]:
    with session_scope(settings, write=False) as session:
        query = select(AutomationRequest).where(AutomationRequest.status == "pending")
        if org_id is not None:
            query = query.where(AutomationRequest.org_id == org_id)
        return [
            {"id": row.id, "org_id": row.org_id, "kind": row.kind, "parameters": row.parameters, "rule_id": row.rule_id}
            for row in session.scalars(query.order_by(AutomationRequest.created_at))
        ]


def take_pending_requests(settings: Settings, kind: str) -> list[dict]:
    """Like `take_pending`, with each request's org and parameters (what the tuner needs)."""
    with session_scope(settings) as session:
        rows = list(
            session.scalars(
                select(AutomationRequest)
                .where(AutomationRequest.kind == kind, AutomationRequest.status == "pending")
                .order_by(AutomationRequest.created_at)
            )
        )
        for row in rows:
            row.status, row.done_at = "done", clock.now()
        return [{"id": row.id, "org_id": row.org_id, "parameters": dict(row.parameters)} for row in rows]
