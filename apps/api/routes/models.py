"""`GET /v1/models`: spend, tokens, calls and errors per model, largest spend first."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import Page, PageParams, UsageFilters, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["usage"])


@router.get(
    "/models",
    dependencies=[require("usage:read")],
    summary="Spend, tokens, calls and errors per model, largest spend first",
)
def models(
    request: Request,
    scope: ScopeDep,
    reader: ReaderDep,
    filters: Annotated[UsageFilters, Query()],
    page: Annotated[PageParams, Query()],
) -> Page:
    rows = records(queries.spend_by(reader, filters.to_filters(), scope, "model"))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
