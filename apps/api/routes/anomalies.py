"""`GET /v1/anomalies`: unusual spend, tokens or errors, with what drove them (`ml.anomalies`)."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import Page, PageParams, UsageFilters, filter_frame, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["ml"])


@router.get("/anomalies", dependencies=[require("ml:read")], summary="Detected anomalies with their drivers")
def anomalies(
    request: Request,
    scope: ScopeDep,
    reader: ReaderDep,
    filters: Annotated[UsageFilters, Query()],
    page: Annotated[PageParams, Query()],
) -> Page:
    """Empty until anomaly detection has run (`aioa run` or `aioa anomalies`)."""
    rows = records(filter_frame(queries.ml_table(reader, scope, "anomalies"), filters))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
