"""`GET /v1/kpis`: headline numbers of the period and of the period of equal length before it."""

from __future__ import annotations

from typing import Annotated

from apps.api.cache import cached
from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import UsageFilters
from fastapi import APIRouter, Query, Request

from aioa.analytics import queries

router = APIRouter(prefix="/v1", tags=["usage"])


@router.get("/kpis", dependencies=[require("usage:read")], summary="Spend, tokens, calls, rates and savings")
def kpis(
    request: Request, scope: ScopeDep, reader: ReaderDep, filters: Annotated[UsageFilters, Query()]
) -> dict[str, dict[str, float]]:
    """`{"current": {...}, "previous": {...}}`: spend_usd, tokens, calls, cache_hit_rate, error_rate, unpriced_calls,
    savings_usd. `previous` is the equally long period before `since`…`until` (the same as `current` when open)."""
    chosen = filters.to_filters()
    result = cached(request, chosen, lambda: queries.kpis(reader, chosen, scope))
    note(request, rows=1)
    return result
