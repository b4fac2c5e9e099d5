"""`GET /v1/mcp-tools`: per MCP server and tool: calls, success rate, mean latency, share of tokens."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import Page, PageParams, UsageFilters, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["usage"])


@router.get(
    "/mcp-tools",
    dependencies=[require("usage:read")],
    summary="Per MCP server and tool: calls, success rate, mean latency, share of tokens",
)
def mcp_tools(
    request: Request,
    scope: ScopeDep,
    reader: ReaderDep,
    filters: Annotated[UsageFilters, Query()],
    page: Annotated[PageParams, Query()],
) -> Page:
    rows = records(queries.mcp_tools(reader, filters.to_filters(), scope))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
