"""`GET /v1/kpis`: headline numbers of the period and of the period of equal length before it."""

from __future__ import annotations

from typing import Annotated

from apps.api.cache import EncodedAnswer, SnapshotRead, cached_answer
from apps.api.deps import ScopeDep, require
from apps.api.schemas import UsageFilters
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["usage"])


@router.get(
    "/kpis",
    dependencies=[require("usage:read")],
    summary="Spend, tokens, calls, rates and savings",
    response_model=dict[str, dict[str, float]],
)
async def kpis(request: Request, scope: ScopeDep, filters: Annotated[UsageFilters, Query()]) -> Response:
    """`{"current": {...}, "previous": {...}}`: spend_usd, tokens, calls, cache_hit_rate, error_rate, unpriced_calls,
    savings_usd. `previous` is the equally long period before `since`…`until` (the same as `current` when open).
    Cached per snapshot: `ETag` and `If-None-Match` (304), gzip when asked for."""
    chosen = filters.to_filters()

    def compute(snapshot: SnapshotRead) -> EncodedAnswer:
        return EncodedAnswer.of(queries.kpis(snapshot.reader, chosen, scope), rows=1)

    return await cached_answer(request, chosen, compute)
