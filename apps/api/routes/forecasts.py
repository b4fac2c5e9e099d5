"""`GET /v1/forecasts`: spend and token forecasts per org, project and metric (`ml.forecasts`)."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import Page, PageParams, UsageFilters, filter_frame, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["ml"])


@router.get("/forecasts", dependencies=[require("ml:read")], summary="Forecasts (actual, forecast, interval per day)")
def forecasts(
    request: Request,
    scope: ScopeDep,
    reader: ReaderDep,
    filters: Annotated[UsageFilters, Query()],
    page: Annotated[PageParams, Query()],
) -> Page:
    """Empty until the forecasting assets have run (`aioa run` or `aioa forecast`)."""
    rows = records(filter_frame(queries.ml_table(reader, scope, "forecasts"), filters))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
