"""`GET /v1/projects`: per org, project group and project: spend in the period, lifetime totals, active span."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import Page, PageParams, UsageFilters, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["usage"])


@router.get(
    "/projects",
    dependencies=[require("usage:read")],
    summary="Per org, project group and project: spend in the period, lifetime totals, active span",
)
def projects(
    request: Request,
    scope: ScopeDep,
    reader: ReaderDep,
    filters: Annotated[UsageFilters, Query()],
    page: Annotated[PageParams, Query()],
) -> Page:
    rows = records(queries.projects_overview(reader, filters.to_filters(), scope))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
