"""`GET /v1/quarantine` (admins): rejected and flagged input lines of the org, with file, line and reason."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from apps.api.deps import ReaderDep, ScopeDep, SettingsDep, note, require
from apps.api.inbox import refused_batches
from apps.api.schemas import MAX_ROWS, Page, PageParams, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["quarantine"])


@router.get("/quarantine", dependencies=[require("quarantine:read")], summary="Quarantined input, newest first")
def quarantine(
    request: Request,
    settings: SettingsDep,
    scope: ScopeDep,
    reader: ReaderDep,
    page: Annotated[PageParams, Query()],
) -> Page:
    """Rejected and flagged lines of the ingested data, and the batches the API refused (`source_system`
    `api:handoffs` / `api:events`, the reasons, the start of the body), newest first. Lines whose org is unknown
    (unparseable lines of a mixed file) only operators see."""
    rows = records(queries.quarantined_input(reader, scope, MAX_ROWS))
    if scope.team_ids is None and scope.user_ids is None:  # refusals have only an org: not a team's rows
        refused = records(pd.DataFrame(refused_batches(settings, scope.org_ids, MAX_ROWS)))
        rows = sorted(rows + refused, key=lambda row: str(row["detected_at"]), reverse=True)[:MAX_ROWS]
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
