"""`GET /v1/sessions`: sessions, most expensive first (cost, calls, subagents, tool calls, errors)."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import MAX_ROWS, Page, PageParams, UsageFilters, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["usage"])


@router.get(
    "/sessions",
    dependencies=[require("usage:read")],
    summary="Sessions, most expensive first (cost, calls, subagents, tool calls, errors)",
)
def sessions(
    request: Request,
    scope: ScopeDep,
    reader: ReaderDep,
    filters: Annotated[UsageFilters, Query()],
    page: Annotated[PageParams, Query()],
) -> Page:
    rows = records(queries.sessions_timeline(reader, filters.to_filters(), scope, limit=MAX_ROWS))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
