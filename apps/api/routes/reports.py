"""`GET /v1/reports/{kind}`: exactly what `aioa report KIND --json` prints, from the same `usage_report`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.api.cache import cached
from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.json_response import OrjsonResponse
from fastapi import APIRouter, HTTPException, Query, Request, status

from aioa.reports import REPORT_KINDS, usage_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])
ReportKind = Literal[tuple(REPORT_KINDS)]  # daily, monthly, session, project, model


@router.get(
    "/{kind}",
    dependencies=[require("usage:read")],
    summary="Tokens and cost per day, month, session, project or model",
    response_description="The rows of `aioa report KIND --json` (a plain JSON list); `X-Total-Count` is the number of "
    "rows before `limit`/`offset`.",
)
def report(
    kind: ReportKind,
    request: Request,
    scope: ScopeDep,
    reader: ReaderDep,
    since: Annotated[date | None, Query(description="First day (YYYY-MM-DD), inclusive.")] = None,
    until: Annotated[date | None, Query(description="Last day (YYYY-MM-DD), inclusive.")] = None,
    timezone: Annotated[str, Query(description="Time zone for days and months (IANA name).")] = "UTC",
    limit: Annotated[int | None, Query(ge=1, description="Rows to return (default: all, as the CLI).")] = None,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
) -> OrjsonResponse:
    """The body is the CLI's JSON list itself (no envelope), so a script can switch between `aioa report --json`
    and this endpoint; paging is by `limit`/`offset` with the total in the `X-Total-Count` header."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown time zone {timezone!r}") from None
    rows = cached(
        request,
        (kind, since, until, timezone),
        lambda: usage_report(reader, kind, scope=scope, timezone=timezone, since=since, until=until),
    )
    page = rows[offset : None if limit is None else offset + limit]
    note(request, rows=len(page))
    return OrjsonResponse(page, headers={"X-Total-Count": str(len(rows))})
