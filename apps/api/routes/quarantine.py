"""`GET /v1/quarantine` (admins): rejected and flagged input lines of the org, with file, line and reason."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import MAX_ROWS, Page, PageParams, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["quarantine"])


@router.get("/quarantine", dependencies=[require("quarantine:read")], summary="Quarantined input, newest first")
def quarantine(request: Request, scope: ScopeDep, reader: ReaderDep, page: Annotated[PageParams, Query()]) -> Page:
    """Lines whose org is unknown (unparseable lines of a mixed file) only operators see. Batches the API refused
    are kept in the inbox's quarantine folder, not here."""
    rows = records(queries.quarantined_input(reader, scope, MAX_ROWS))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
