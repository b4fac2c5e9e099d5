"""`POST /v1/handoffs` and `POST /v1/events`: batches of handoff or usage events into the caller's org inbox.

Every event is checked against its contract first; one invalid event refuses the whole batch (422 naming the event
index and field, the batch kept in the org's quarantine folder) and nothing is written. A valid batch is written
at once, atomically; ids accepted before are reported as duplicates and not written again. The org is the
credential's: an event naming another org is refused (422), never rewritten. The next pipeline run ingests the inbox.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from apps.api import inbox
from apps.api.deps import OrgParam, SettingsDep, note, require, too_many, write_org
from apps.api.ingest_models import HandoffEvent, IngestRejected, IngestResult, UsageEvent
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from aioa.identity.principal import Principal
from aioa.tenants.quotas import QuotaUnavailable, take_daily_decision
from aioa.tenants.settings_doc import quota_limits

router = APIRouter(prefix="/v1", tags=["ingest"])
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_EVENTS = 50_000
EventsWriter = Annotated[Principal, require("events:write")]  # API keys: scope `ingest`


def _body_schema(model) -> dict:
    schema = {"type": "array", "items": {"$ref": f"#/components/schemas/{model.__name__}"}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-ndjson": {"schema": {"type": "string", "description": "One event (JSON) per line."}},
            },
        }
    }


RESPONSES = {202: {"model": IngestResult}, 422: {"model": IngestRejected}, 429: {"description": "Ingest quota"}}


@router.post(
    "/handoffs",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Post handoff events (aioa.handoff/1)",
    openapi_extra=_body_schema(HandoffEvent),
    responses=RESPONSES,
)
async def post_handoffs(
    request: Request,
    settings: SettingsDep,
    principal: EventsWriter,
    org: OrgParam = [],  # noqa: B006
) -> JSONResponse:
    return await _ingest(request, settings, principal, org, "handoffs", HandoffEvent, "handoff_id")


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Post usage events (billed model calls)",
    openapi_extra=_body_schema(UsageEvent),
    responses=RESPONSES,
)
async def post_events(
    request: Request,
    settings: SettingsDep,
    principal: EventsWriter,
    org: OrgParam = [],  # noqa: B006
) -> JSONResponse:
    return await _ingest(request, settings, principal, org, "events", UsageEvent, "event_id")


async def _ingest(request, settings, principal, org, kind, model, id_field) -> JSONResponse:
    org_id = write_org(principal, org)
    try:
        inbox.org_folder(settings, org_id)
    except inbox.InboxError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"at most {MAX_BODY_BYTES:,} bytes per batch")
    events, problem = inbox.parse_body(body, request.headers.get("content-type", ""))
    if events is not None and len(events) > MAX_EVENTS:
        problem = inbox.Problem(None, None, f"at most {MAX_EVENTS:,} events per batch")
    validated = inbox.validate(events, model, id_field, org_id) if problem is None else None
    problems = [problem] if problem is not None else validated.problems
    actor = f"{principal.kind}:{principal.subject}"
    if problems:
        spooled = await run_in_threadpool(inbox.quarantine_batch, settings, org_id, kind, body, problems, actor)
        note(request, rows=0, org_id=org_id, refused=len(problems), quarantined=spooled.name)
        return JSONResponse(
            {"detail": [problem.__dict__ for problem in problems], "quarantined": spooled.name},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        accepted = await run_in_threadpool(
            inbox.accept, settings, org_id, kind, validated, take_quota=lambda rows: take_rows(settings, org_id, rows)
        )
    except inbox.QuotaRefused as refused:
        raise too_many(refused.retry_after_s, f"org {org_id}'s ingest quota of rows per day is used up") from None
    except QuotaUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"ingest quota unavailable: {error}") from None
    note(request, rows=accepted.accepted, org_id=org_id, duplicates=len(accepted.duplicates))
    result = IngestResult(
        accepted=accepted.accepted,
        duplicates=accepted.duplicates,
        file=None if accepted.file is None else accepted.file.name,
    )
    return JSONResponse(result.model_dump(), status_code=status.HTTP_202_ACCEPTED)


def take_rows(settings, org_id: str, rows: int) -> float | None:
    """None when `rows` fit in the org's rows of today; else seconds until the next UTC day (or None: never fits)."""
    limit = quota_limits(settings, org_id).ingest_rows_per_day_per_tenant
    decision = take_daily_decision(settings, f"ingest-rows:{org_id}", limit, rows)
    if decision.allowed:
        return None
    if decision.retry_after_s is not None:
        return decision.retry_after_s
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((tomorrow - datetime.now(UTC)).total_seconds())
