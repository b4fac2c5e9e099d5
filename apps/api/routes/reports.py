"""`GET /v1/reports/{kind}`: exactly what `aioa report KIND --json` prints, from the same `usage_report`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.api.cache import EncodedAnswer, SnapshotRead, cached_answer
from apps.api.deps import ScopeDep, require
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response

from aioa.reports import REPORT_KINDS, usage_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])
ReportKind = Literal[tuple(REPORT_KINDS)]  # daily, monthly, session, project, model


@router.get(
    "/{kind}",
    dependencies=[require("usage:read")],
    summary="Tokens and cost per day, month, session, project or model",
    response_model=list[dict[str, Any]],
    response_description="The rows of `aioa report KIND --json` (a plain JSON list); `X-Total-Count` is the number of "
    "rows before `limit`/`offset`.",
)
async def report(
    kind: ReportKind,
    request: Request,
    scope: ScopeDep,
    since: Annotated[date | None, Query(description="First day (YYYY-MM-DD), inclusive.")] = None,
    until: Annotated[date | None, Query(description="Last day (YYYY-MM-DD), inclusive.")] = None,
    timezone: Annotated[str, Query(description="Time zone for days and months (IANA name).")] = "UTC",
    limit: Annotated[int | None, Query(ge=1, description="Rows to return (default: all, as the CLI).")] = None,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
) -> Response:
    """The body is the CLI's JSON list itself (no envelope), so a script can switch between `aioa report --json`
    and this endpoint; paging is by `limit`/`offset` with the total in the `X-Total-Count` header. Cached per
    snapshot: `ETag` and `If-None-Match` (304), gzip when asked for."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown time zone {timezone!r}") from None
    report_key = (kind, since, until, timezone)

    def compute(snapshot: SnapshotRead) -> EncodedAnswer:
        def rows() -> list[dict]:
            return usage_report(snapshot.reader, kind, scope=scope, timezone=timezone, since=since, until=until)

        paged = limit is not None or offset > 0
        every_row = snapshot.remember(report_key, rows) if paged else rows()  # pages share one computed report
        page = every_row[offset : None if limit is None else offset + limit]
        return EncodedAnswer.of(page, rows=len(page), headers={"X-Total-Count": str(len(every_row))})

    return await cached_answer(request, (*report_key, limit, offset), compute)
