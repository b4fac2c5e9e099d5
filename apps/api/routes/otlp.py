"""The OTLP/HTTP receiver: `POST /v1/traces`, `/v1/logs`, `/v1/metrics` (protobuf or JSON), with an API key.

Point any OpenTelemetry exporter at the API (`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:8000`,
`OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer aioa_…`), or at `aioa watch`'s receiver on port 4318. Claude Code
sends its own telemetry with `CLAUDE_CODE_ENABLE_TELEMETRY=1`. A request is kept whole in the key's org inbox or
refused whole (400, kept in the org's quarantine folder with the reason); the org is the key's, never the payload's.
"""

from __future__ import annotations

from typing import Annotated

from apps.api import inbox, otlp
from apps.api.deps import OrgParam, SettingsDep, note, require, too_many, write_org
from apps.api.routes.ingest import take_rows  # the org's daily row quota, as for /v1/events
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from aioa.identity.principal import Principal
from aioa.tenants.quotas import QuotaUnavailable

router = APIRouter(tags=["otlp"])
EventsWriter = Annotated[Principal, require("events:write")]  # API keys: scope `ingest`
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "object", "description": "OTLP/JSON export request"}},
        },
    }
}


async def _receive(request: Request, settings, principal: Principal, org: list[str], signal: otlp.Signal) -> Response:
    org_id = write_org(principal, org)
    body = await request.body()
    content_type = request.headers.get("content-type", "").lower()
    encoding = request.headers.get("content-encoding", "")
    try:
        inbox.org_folder(settings, org_id)
        message, payload, plain = otlp.decode(signal, body, content_type, encoding)
        line = otlp.as_line(signal, plain, message, payload)
    except inbox.InboxError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    except otlp.PayloadError as error:
        problem = inbox.Problem(None, None, str(error))
        actor = f"{principal.kind}:{principal.subject}"
        kept = await run_in_threadpool(
            inbox.quarantine_batch, settings, org_id, f"otlp-{signal.name}", body[:1_000_000], [problem], actor
        )
        note(request, rows=0, org_id=org_id, refused=1, quarantined=kept.name)
        return JSONResponse({"detail": str(error), "quarantined": kept.name}, status.HTTP_400_BAD_REQUEST)
    items = otlp.count(signal, message)
    if signal.folder == "otel" and items:
        try:
            wait = await run_in_threadpool(take_rows, settings, org_id, items)
        except QuotaUnavailable as error:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"ingest quota unavailable: {error}") from None
        if wait is not None:
            raise too_many(wait, f"org {org_id}'s ingest quota of rows per day is used up")
    if items:
        await run_in_threadpool(otlp.keep, settings, org_id, signal, line)
    note(request, rows=items, org_id=org_id, signal=signal.name)
    if payload is not None:
        return JSONResponse({})
    return Response(signal.response_type().SerializeToString(), media_type="application/x-protobuf")


@router.post("/v1/traces", summary="OTLP/HTTP traces (GenAI spans)", openapi_extra=_BODY)
async def traces(request: Request, settings: SettingsDep, principal: EventsWriter, org: OrgParam = []) -> Response:  # noqa: B006
    return await _receive(request, settings, principal, org, otlp.SIGNALS["traces"])


@router.post("/v1/logs", summary="OTLP/HTTP logs (e.g. Claude Code's api_request events)", openapi_extra=_BODY)
async def logs(request: Request, settings: SettingsDep, principal: EventsWriter, org: OrgParam = []) -> Response:  # noqa: B006
    return await _receive(request, settings, principal, org, otlp.SIGNALS["logs"])


@router.post("/v1/metrics", summary="OTLP/HTTP metrics (kept, not modelled)", openapi_extra=_BODY)
async def metrics(request: Request, settings: SettingsDep, principal: EventsWriter, org: OrgParam = []) -> Response:  # noqa: B006
    return await _receive(request, settings, principal, org, otlp.SIGNALS["metrics"])
